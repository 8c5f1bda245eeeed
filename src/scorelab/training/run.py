"""The run harness every trainer shares: config, fingerprint, seed, device, resume, logs, checkpoints.

A trainer (``scorelab.training.TRAINERS``) only writes its update step. Everything a
run needs around it is here, once:

- :func:`train_variant`: parses the trainer's strict config and the model's arch,
  fingerprints the run (model, trainer, arch, config, encoding, seed, data bytes),
  seeds every RNG, builds the networks, and hands a :class:`Run` to the trainer's ``fit``.
- :class:`Run`: the device (CUDA when present, else the CPU) and its autocast (bf16 under
  CUDA, nothing on the CPU), training tensors moved to the device once, TSV logs,
  registered optimizers, resume from ``resume.pt`` and the step loop
  (:meth:`Run.steps`) with its progress bar, periodic ``resume.pt`` and final
  ``checkpoint.pt``.

Same params on the CPU give the same bytes; an interrupted run resumed gives the bytes
of an uninterrupted one (tested per trainer).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from scorelab.config import from_dict, to_dict
from scorelab.models import get_model_spec, parse_arch
from scorelab.training.checkpoint import capture_rng, restore_rng, run_fingerprint, save_checkpoint
from scorelab.training.device import pick_device
from scorelab.training.runlog import FINAL_NAME, RESUME_NAME, TsvLog, resume_or_start
from scorelab.utils import seed_everything


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
    max_steps
        Interrupt after this many steps in total (a test's two steps): ``resume.pt`` and a
        ``checkpoint.pt`` of the current weights are written and the next run resumes.
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
    ):
        self.out_dir, self.log_dir = Path(out_dir), Path(log_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.meta, self.device = meta, pick_device(device)
        # Weight clipping (S4's WGAN) leaves an LSTM critic with denormal floats, which
        # the CPU computes up to ~1.6x slower (measured here); flushing them to zero is
        # deterministic and changes nothing a float32 network can represent usefully.
        torch.set_flush_denormal(True)
        self.modules = {k: m.to(self.device).train() for k, m in modules.items()}
        self.rng = torch.Generator().manual_seed(seed)  # the data generator, saved with resume.pt
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.logs: dict[str, TsvLog] = {}
        self.max_steps, self.progress = max_steps, progress
        self.start = 0
        self._bar: tqdm | None = None

    # Set-up ---------------------------------------------------------------------------

    def log(self, name: str, columns: tuple[str, ...]) -> TsvLog:
        """Declare the TSV log ``log_dir/<name>_log.tsv`` (before :meth:`resume`)."""
        self.logs[name] = TsvLog(self.log_dir / f"{name}_log.tsv", columns)
        return self.logs[name]

    def optimizer(self, name: str, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Register an optimizer so its state is saved and restored (before :meth:`resume`)."""
        self.optimizers[name] = optimizer
        return optimizer

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """A training array as a tensor on the run's device, moved once (no per-step copies)."""
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA; nothing on the CPU (CPU runs stay float32 and repeatable)."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def resume(self) -> dict:
        """Restore from a matching ``resume.pt``; return the trainer's saved loop state ({} if fresh).

        Without one (or with one of another run: other params, seed or data), the logs
        restart with their headers and training starts at step 0.
        """
        ckpt = resume_or_start(self.out_dir, self.meta["fingerprint"], self.logs)
        if ckpt is None:
            return {}
        ckpt.load_into(self.modules)
        for key, opt in self.optimizers.items():
            opt.load_state_dict(ckpt.optimizers[key])
        restore_rng(ckpt.rng, self.rng)
        self.start = ckpt.step
        return dict(ckpt.state or {})

    # The loop -------------------------------------------------------------------------

    def steps(self, total: int, every: int, state: Callable[[], dict]) -> Iterator[int]:
        """Yield the steps ``start + 1 .. stop``; save ``resume.pt`` every ``every`` steps and finish.

        ``state()`` returns the trainer's loop state to save with the weights (sampler
        position, epoch counters); it is called after a step's body has run. After the last
        step ``checkpoint.pt`` is written, and ``resume.pt`` is kept only when the run
        stopped early on purpose (``max_steps``).
        """
        stop = total if self.max_steps is None else max(self.start, min(total, self.max_steps))
        name = self.meta["model_name"]
        self._bar = tqdm(total=total, initial=self.start, desc=f"train {name}", disable=not self.progress)
        for step in range(self.start + 1, stop + 1):
            yield step
            self._bar.update(1)
            if step % every == 0 and step < stop:
                self._save(RESUME_NAME, step, state())
        self._bar.close()
        self._save(FINAL_NAME, stop, None)
        if stop < total:
            self._save(RESUME_NAME, stop, state())
        else:
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
        """Write ``out_dir/file``: weights only when ``state`` is None, else all to resume."""
        full = state is not None
        return save_checkpoint(
            self.out_dir / file,
            **self.meta,
            step=step,
            modules=self.modules,
            optimizers=self.optimizers if full else None,
            rng=capture_rng(self.rng) if full else None,
            state={"log_rows": {k: v.rows for k, v in self.logs.items()}, **state} if full else None,
        )


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
        Torch device; default CUDA when available, else the CPU.
    progress
        Show a tqdm bar.

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
    meta["fingerprint"] = run_fingerprint(
        model_name, meta["arch"], {**meta["train"], "trainer": trainer_name}, encoding, seed, *arrays
    )
    seed_everything(seed)
    modules = spec.builder(arch_obj, encoding)
    lacking = [m for m in trainer.modules if m not in modules]
    if lacking:
        raise ValueError(
            f"model {model_name!r} builds {sorted(modules)}; "
            f"trainer {trainer_name!r} needs {list(trainer.modules)}"
        )
    run = Run(out_dir, log_dir, meta, modules, seed, device=device, max_steps=max_steps, progress=progress)
    trainer.fit(run, cfg, {s: data[s] for s in trainer.splits})
    return run.checkpoint
