"""train@<variant>: encoded tensors -> self-describing checkpoint + loss TSVs.

The variant names its trainer; the registry says which splits it reads. Nothing here
knows what kind of model it is. With ``compute.processes: N`` > 1 the same call starts
itself again as N torchrun workers (scorelab.training.distributed), so dvc.yaml's one
command line serves one process and many.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from scorelab.errors import ParamsError, TrainingError
from scorelab.params import resolve_arch, resolve_compute, resolve_train, variant
from scorelab.utils import load_npz, write_json


def _worker_threads(threads: int, processes: int) -> int:
    """Each of N processes gets threads / N (``threads: 0``: the cores / N), at least 1."""
    total = threads or os.cpu_count() or 1
    return max(1, total // processes)


def _busy_seconds() -> tuple[float, float]:
    """(CPU seconds all processes have spent busy, this process's and its children's)."""
    import psutil

    cpu = psutil.cpu_times()
    own = os.times()
    return cpu.user + cpu.system + getattr(
        cpu, "nice", 0.0
    ), own.user + own.system + own.children_user + own.children_system


def others_share(busy0: tuple[float, float], seconds: float) -> float:
    """The share of the machine's CPUs that other processes used since ``busy0`` (0 to 1):
    a time measured beside a browser is not a quiet machine's time (issue 20)."""
    total, own = (b - a for a, b in zip(busy0, _busy_seconds(), strict=True))
    cores = os.cpu_count() or 1
    return round(max(0.0, total - own) / max(seconds * cores, 1e-9), 3)


def run_train(
    params: dict,
    name: str,
    data_dir: Path,
    out: Path,
    logs: Path,
    max_steps: int | None = None,
    progress: bool = True,
    argv: list[str] | None = None,
    timings: Path | None = None,
) -> Path:
    """Train variant ``name`` on the dataset in ``data_dir``.

    Writes ``out/checkpoint.pt`` (resuming from ``out/resume.pt`` when a killed run left
    one with the same settings), ``logs/*_log.tsv`` and ``out/run_info.json`` (device and
    its name, precision, process count, versions: no timestamps, so reruns give the same
    bytes). The device is printed and ``run_info.json`` written before the first step, so
    a run that went to the wrong device says so at once.
    Returns the checkpoint path.

    ``argv``: the command to start again under torchrun when ``compute.processes`` > 1
    (default: this process's own command line, which the stage script and the CLI are).

    ``timings``: a folder for ``<name>.json``, the wall time of this training and where it
    ran. It is kept out of ``out`` on purpose: ``out`` is a DVC output, and a measured
    time would make a forced rerun give other bytes. dvc.yaml points it at
    ``timings/train`` (committed to git with dvc.lock, read by the report, undeclared).

    Raises
    ------
    TrainingError
        A data-parallel worker failed (its own message is printed above).
    ParamsError
        Bad params; or the ``paper`` profile on a CPU that ``base.device: auto`` fell to.
    """
    from scorelab.compute import apply_threads, compute_info, pin_cpu

    compute = resolve_compute(params)
    pin_cpu(compute)  # no-op when the stage pinned it already
    import torch

    from scorelab.training.check import check_model_fits, check_variant
    from scorelab.training.device import describe, device_name, pick_device, refuse_paper_on_cpu
    from scorelab.training.distributed import init_from_env, launch, under_torchrun
    from scorelab.training.registry import get_trainer
    from scorelab.training.run import train_variant

    check_variant(params, name)  # this variant's part of params.yaml, before any work
    data_dir = Path(data_dir)
    encoding = json.loads((data_dir / "encoding.json").read_text())
    check_model_fits(params, name, encoding)

    processes = int(compute["processes"])
    if processes > 1 and not under_torchrun():
        code = launch(processes, argv if argv is not None else sys.argv)
        if code != 0:
            raise TrainingError(f"train {name}: the {processes} torchrun workers failed (exit code {code})")
        return Path(out) / "checkpoint.pt"

    base_device = params["base"].get("device", "auto")
    device_type = pick_device(base_device).type
    world = init_from_env(device_type)
    if world.distributed:
        compute = {**compute, "threads": _worker_threads(int(compute["threads"]), world.size)}
    apply_threads(compute)

    v = variant(params, name)
    trainer = get_trainer(v["trainer"])
    train = resolve_train(params, name)
    data = {split: load_npz(data_dir / f"{split}.npz") for split in trainer.splits}
    device = pick_device(base_device, world.local_rank)
    refuse_paper_on_cpu(base_device, device, params["base"].get("profile", "quick"))
    amp = bool(compute.get("amp", True))
    if world.main:  # the device is known, and said, before the first step (issue 21)
        where = describe(base_device, device, amp) + (
            f", {world.size} processes" if world.distributed else ""
        )
        print(f"train {name}: on {where}", flush=True)
        write_json(
            Path(out) / "run_info.json",
            {
                "variant": name,
                "trainer": v["trainer"],
                "model": v["model"],
                "device": str(device),
                "device_name": device_name(device),
                "autocast": "bf16" if device.type == "cuda" and amp else "off",
                "processes": world.size,
                "compile": bool(compute.get("compile", False)),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "compute": compute_info(),
                "arch": resolve_arch(params, name),
                "train": train,
            },
        )
    t0, busy0 = time.perf_counter(), _busy_seconds()
    try:
        ckpt = train_variant(
            v["trainer"],
            v["model"],
            resolve_arch(params, name),
            train,
            data,
            encoding,
            Path(out),
            Path(logs),
            params["base"]["seed"],
            max_steps=max_steps,
            device=device,
            progress=progress,
            world=world,
            compile=bool(compute.get("compile", False)),
            amp=amp,
        )
    except ParamsError as exc:
        if not str(exc).startswith("variants."):
            raise ParamsError(f"variants.{name}: {exc}") from exc  # name the variant's key
        raise
    if not world.main:
        return ckpt
    where = f"{device}" + (f" x {world.size} processes" if world.distributed else "")
    seconds = time.perf_counter() - t0
    print(f"train {name}: {seconds:.1f} s on {where}")
    if timings is not None:
        write_json(
            Path(timings) / f"{name}.json",
            {
                "variant": name,
                "seconds": round(seconds, 1),
                "device": str(device),
                "processes": world.size,
                # the machine's state, which the time depends on (issue 20): how much
                # of the CPUs other processes used meanwhile, and how OpenMP threads wait
                "others_cpu_share": others_share(busy0, seconds),
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
            },
        )
    return ckpt
