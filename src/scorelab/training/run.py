"""The run harness every trainer shares: config, fingerprint, seed, device, resume, logs, checkpoints.

A trainer (``scorelab.training.registry.TRAINERS``) only writes its update step. Everything a
run needs around it is here, once:

- :func:`train_variant`: parses the trainer's strict config and the model's arch,
  fingerprints the run (model, trainer, arch, config, encoding, seed, data bytes),
  seeds every RNG, builds the networks, and hands a :class:`Run` to the trainer's ``fit``.
- :class:`Run`: the device (CUDA when present, else the CPU) and its autocast (bf16 under
  CUDA unless ``compute.amp`` is off, nothing on the CPU), training tensors moved to the
  device once, data generators on the device (so a step copies nothing to the GPU and
  syncs with the host once, for its logged scalars), TSV logs,
  registered optimizers, resume from ``resume.pt`` and the step loop
  (:meth:`Run.steps`) with its progress bar, periodic ``resume.pt``, weights-only
  snapshots at each eighth of the steps (``snapshots/``, for the quality log) and final
  ``checkpoint.pt``.

Same params on the CPU give the same bytes; an interrupted run resumed gives the bytes
of an uninterrupted one (tested per trainer).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from scorelab.config import from_dict, to_dict
from scorelab.errors import ParamsError
from scorelab.models import get_model_spec, parse_arch
from scorelab.training.checkpoint import capture_rng, restore_rng, run_fingerprint, save_checkpoint
from scorelab.training.device import generator_on, pick_device
from scorelab.training.distributed import (
    World,
    average_gradients,
    broadcast_modules,
    broadcast_object,
    gather_objects,
    mean_over_ranks,
)
from scorelab.training.runlog import (
    FINAL_NAME,
    QUALITY_POINTS,
    RESUME_NAME,
    SNAPSHOT_DIR,
    TsvLog,
    resume_or_start,
)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so CPU runs repeat byte for byte (here, not in
    scorelab.utils, which stages without torch import)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


class Run:
    """One training run as a trainer sees it.

    Parameters
    ----------
    out_dir
        Receives ``checkpoint.pt`` (and ``resume.pt`` while the run is unfinished).
    log_dir
        Receives one ``<name>_log.tsv`` per :meth:`log`.
    meta
        What the checkpoint records: model_name, trainer, arch, train, encoding, fingerprint.
    modules
        The networks by name, already built; moved to the device and set to train mode.
    seed
        Seeds the run's data generator :attr:`rng` (batches, noise, masks).
    device
        ``auto``/None (CUDA when present), ``cpu``, ``cuda`` or a torch device.
    max_steps
        Interrupt after this many steps in total (a test's two steps): ``resume.pt`` and a
        ``checkpoint.pt`` of the current weights are written and the next run resumes.
    world
        This process's rank in a data-parallel run (:mod:`scorelab.training.distributed`);
        a single process by default.
    compile
        ``torch.compile`` each network in place (``compute.compile``; off by default).
    amp
        bf16 autocast on CUDA (``compute.amp``; on by default). The CPU never autocasts.

    On CUDA the conv networks are also put in channels-last memory format (the layout
    tensor cores read); the CPU runs stay in the default layout, which their bytes were
    measured with.
    """

    def __init__(
        self,
        out_dir: Path,
        log_dir: Path,
        meta: dict,
        modules: dict[str, nn.Module],
        seed: int,
        device: str | torch.device | None = None,
        max_steps: int | None = None,
        progress: bool = True,
        world: World | None = None,
        compile: bool = False,
        amp: bool = True,
    ):
        self.out_dir, self.log_dir = Path(out_dir), Path(log_dir)
        self.amp = amp
        self.world = world or World()
        if self.world.main:
            (self.out_dir / SNAPSHOT_DIR).mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(parents=True, exist_ok=True)
        self.meta, self.device = meta, pick_device(device, self.world.local_rank)
        # Weight clipping (S4's WGAN) leaves an LSTM critic with denormal floats, which
        # the CPU computes up to ~1.6x slower (measured here); flushing them to zero is
        # deterministic and changes nothing a float32 network can represent usefully.
        torch.set_flush_denormal(True)
        self.modules = {k: self._to_device(m).train() for k, m in modules.items()}
        self.rng = generator_on(self.device, seed)  # the data generator, saved with resume.pt
        # Batches are drawn from a generator that is the same on every rank (each keeps
        # its share); noise and dropout from generators that differ by rank. One process:
        # one generator for both, as before, so single-process bytes did not change.
        self.batch_rng = self.rng
        if self.world.distributed:
            self.batch_rng = generator_on(self.device, seed)
            self.rng = generator_on(self.device, seed * 1_000_003 + self.world.rank + 1)
            torch.manual_seed(seed * 1_000_003 + self.world.rank + 1)  # dropout, after the weights
        if compile:
            for m in self.modules.values():
                m.compile()  # in place: the state_dict keys (and checkpoints) stay the same
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.logs: dict[str, TsvLog] = {}
        self.max_steps, self.progress = max_steps, progress and self.world.main
        self.start = 0
        self._bar: tqdm | None = None

    # Set-up ---------------------------------------------------------------------------

    def _to_device(self, module: nn.Module) -> nn.Module:
        """``module`` on the run's device; on CUDA a conv network also channels-last, in the
        same one conversion (a second one would copy every weight again)."""
        convs = any(isinstance(x, nn.Conv2d | nn.ConvTranspose2d) for x in module.modules())
        if self.device.type == "cuda" and convs:
            return module.to(self.device, memory_format=torch.channels_last)
        return module.to(self.device)

    def log(self, name: str, columns: tuple[str, ...]) -> TsvLog:
        """Declare the TSV log ``log_dir/<name>_log.tsv`` (before :meth:`resume`)."""
        reduce = (lambda values: mean_over_ranks(values, self.world)) if self.world.distributed else None
        self.logs[name] = TsvLog(self.log_dir / f"{name}_log.tsv", columns, self.world.main, reduce)
        return self.logs[name]

    def optimizer(self, name: str, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Register an optimizer so its state is saved and restored (before :meth:`resume`).

        In a data-parallel run its gradients are averaged over the ranks before each step.
        """
        self.optimizers[name] = optimizer
        if self.world.distributed:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            optimizer.register_step_pre_hook(lambda *_: average_gradients(params, self.world))
        return optimizer

    def shard(self, indices: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of a global batch of indices (all of it on one process)."""
        if not self.world.distributed:
            return indices
        size = len(indices) // self.world.size
        return indices[self.world.rank * size : (self.world.rank + 1) * size]

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """A training array as a tensor on the run's device, moved once (no per-step copies)."""
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA (unless ``amp`` is off); nothing on the CPU (float32, repeatable)."""
        if self.device.type == "cuda" and self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def resume(self) -> dict:
        """Restore from a matching ``resume.pt``; return the trainer's saved loop state ({} if fresh).

        Without one (or with one of another run: other params, seed or data), the logs
        restart with their headers and training starts at step 0.
        """
        ckpt = None
        if self.world.main:
            ckpt = resume_or_start(self.out_dir, self.meta["fingerprint"], self.logs)
        if self.world.distributed:  # rank 0 read the file (it may be on rank 0's disk only)
            ckpt = broadcast_object(ckpt, self.world)
            if ckpt is not None and not self.world.main:
                for name, n in (ckpt.state or {}).get("log_rows", {}).items():
                    self.logs[name].rows = n
        if self.world.main:
            self._drop_snapshots_after(0 if ckpt is None else ckpt.step)
        if ckpt is None:
            if self.world.distributed:
                broadcast_modules(self.modules)
            return {}
        ckpt.load_into(self.modules)
        for key, opt in self.optimizers.items():
            opt.load_state_dict(ckpt.optimizers[key])
        if self.world.distributed:
            restore_rng(ckpt.rng["ranks"][self.world.rank], self.rng, self.device)
            self.batch_rng.set_state(ckpt.rng["batches"])
        else:
            restore_rng(ckpt.rng, self.rng, self.device)
        self.start = ckpt.step
        return dict(ckpt.state or {})

    def _drop_snapshots_after(self, step: int) -> None:
        """Delete snapshots of steps after ``step``: the models folder persists between runs
        (for resume), so a fresh run (or a resumed one) must not keep another run's points."""
        for path in (self.out_dir / SNAPSHOT_DIR).glob("step_*.pt"):
            if int(path.stem.removeprefix("step_")) > step:
                path.unlink()

    # The loop -------------------------------------------------------------------------

    def steps(self, total: int, every: int, state: Callable[[], dict]) -> Iterator[int]:
        """Yield the steps ``start + 1 .. stop``; save ``resume.pt`` every ``every`` steps and finish.

        ``state()`` returns the trainer's loop state to save with the weights (sampler
        position, epoch counters); it is called after a step's body has run. After the last
        step ``checkpoint.pt`` is written, and ``resume.pt`` is kept only when the run
        stopped early on purpose (``max_steps``).
        """
        stop = total if self.max_steps is None else max(self.start, min(total, self.max_steps))
        marks = snapshot_steps(total)
        name = self.meta["model_name"]
        self._bar = tqdm(total=total, initial=self.start, desc=f"train {name}", disable=not self.progress)
        for step in range(self.start + 1, stop + 1):
            yield step
            self._bar.update(1)
            if step in marks:
                self._save(f"{SNAPSHOT_DIR}/step_{step:07d}.pt", step, None)
            if step % every == 0 and step < stop:
                self._save(RESUME_NAME, step, state())
        self._bar.close()
        self._save(FINAL_NAME, stop, None)
        if stop < total:
            self._save(RESUME_NAME, stop, state())
        elif self.world.main:
            (self.out_dir / RESUME_NAME).unlink(missing_ok=True)

    def show(self, **scalars: float) -> None:
        """Show a few numbers on the progress bar."""
        if self._bar is not None and self.progress:
            self._bar.set_postfix({k: f"{v:.3g}" for k, v in scalars.items()})

    @property
    def checkpoint(self) -> Path:
        """Where the final weights are written."""
        return self.out_dir / FINAL_NAME

    def _save(self, file: str, step: int, state: dict | None) -> Path:
        """Write ``out_dir/file``: weights only when ``state`` is None, else all to resume.

        In a data-parallel run every rank calls this (their random states are gathered
        into the resume file) and rank 0 alone writes.
        """
        full = state is not None
        rng = capture_rng(self.rng, self.device) if full else None
        if full and self.world.distributed:
            ranks = gather_objects(rng, self.world)
            rng = {**ranks[0], "ranks": ranks, "batches": self.batch_rng.get_state()}
        if not self.world.main:
            return self.out_dir / file
        return save_checkpoint(
            self.out_dir / file,
            **self.meta,
            step=step,
            modules=self.modules,
            optimizers=self.optimizers if full else None,
            rng=rng,
            state={"log_rows": {k: v.rows for k, v in self.logs.items()}, **state} if full else None,
        )


def snapshot_steps(total: int) -> set[int]:
    """The steps before the last at which weights are kept: each ``1/QUALITY_POINTS`` of ``total``.

    The last point of the quality curve is ``checkpoint.pt`` itself. Saving weights
    touches no random state, so a run's bytes do not change with snapshots.
    """
    return {round(total * i / QUALITY_POINTS) for i in range(1, QUALITY_POINTS)} - {0, total}


def cfg_batch(cfg: Any) -> int:
    """A training config's batch size (every trainer has one)."""
    return int(getattr(cfg, "batch_size", 1))


def train_variant(
    trainer_name: str,
    model_name: str,
    arch: dict[str, Any],
    train: dict[str, Any],
    data: dict[str, dict[str, np.ndarray]],
    encoding: dict[str, Any],
    out_dir: Path,
    log_dir: Path,
    seed: int,
    max_steps: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    world: World | None = None,
    compile: bool = False,
    amp: bool = True,
) -> Path:
    """Train model ``model_name`` with trainer ``trainer_name``; return ``out_dir/checkpoint.pt``.

    Parameters
    ----------
    trainer_name, model_name
        Keys of ``TRAINERS`` and ``MODELS``.
    arch, train
        The variant's ``arch:`` and resolved ``train:`` mappings (strictly checked).
    data
        The encoded splits the trainer reads (``trainer.splits``): ``{split: arrays}``.
    encoding
        The codec's description of the arrays (recorded in the checkpoint).
    out_dir, log_dir
        Checkpoints; TSV logs.
    seed
        Seeds weights, batches, noise and dropout: same params on the CPU, same bytes.
    max_steps
        Interrupt after this many steps (see :class:`Run`).
    device
        ``auto``/None (CUDA when available, else the CPU), ``cpu``, ``cuda``.
    progress
        Show a tqdm bar.
    world
        This process's rank in a data-parallel run; its size is part of the fingerprint
        (a resume file of another process count is ignored), a single process adds nothing.
    compile
        ``torch.compile`` the networks (same results within float tolerance, not bytes).
    amp
        bf16 autocast on CUDA (``compute.amp``).

    Raises
    ------
    ValueError
        Unknown trainer or model, or a model without the networks the trainer needs.
    ParamsError
        A bad ``arch`` or ``train`` key, named.
    """
    from scorelab.training.registry import get_trainer

    trainer = get_trainer(trainer_name)
    spec = get_model_spec(model_name)
    cfg = from_dict(trainer.config, train, "train")
    arch_obj = parse_arch(model_name, arch)
    missing = [s for s in trainer.splits if s not in data]
    if missing:
        raise ValueError(f"trainer {trainer_name} reads splits {trainer.splits}; missing {missing}")
    arrays = [data[s][k] for s in trainer.splits for k in sorted(data[s])]
    meta = dict(
        model_name=model_name,
        trainer=trainer_name,
        arch=to_dict(arch_obj),
        train=to_dict(cfg),
        encoding=encoding,
    )
    world = world or World()
    identity = {**meta["train"], "trainer": trainer_name}
    if world.distributed:  # N shares with their own noise are another run than one process
        identity["processes"] = world.size
        if cfg_batch(cfg) % world.size:
            raise ParamsError(
                f"train.batch_size: {cfg_batch(cfg)} does not split into compute.processes = {world.size} "
                "equal shares (use a multiple)"
            )
    meta["fingerprint"] = run_fingerprint(model_name, meta["arch"], identity, encoding, seed, *arrays)
    seed_everything(seed)
    modules = spec.builder(arch_obj, encoding)
    lacking = [m for m in trainer.modules if m not in modules]
    if lacking:
        raise ValueError(
            f"model {model_name!r} builds {sorted(modules)}; "
            f"trainer {trainer_name!r} needs {list(trainer.modules)}"
        )
    run = Run(
        out_dir,
        log_dir,
        meta,
        modules,
        seed,
        device=device,
        max_steps=max_steps,
        progress=progress,
        world=world,
        compile=compile,
        amp=amp,
    )
    trainer.fit(run, cfg, {s: data[s] for s in trainer.splits})
    return run.checkpoint
