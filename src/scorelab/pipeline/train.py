"""train@<variant>: encoded tensors -> self-describing checkpoint + loss TSVs.

The variant names its trainer; the registry says which splits it reads. Nothing here
knows what kind of model it is.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from scorelab.params import resolve_arch, resolve_compute, resolve_train, variant
from scorelab.utils import load_npz, write_json


def run_train(
    params: dict,
    name: str,
    data_dir: Path,
    out: Path,
    logs: Path,
    max_steps: int | None = None,
    progress: bool = True,
) -> Path:
    """Train variant ``name`` on the dataset in ``data_dir``.

    Writes ``out/checkpoint.pt`` (resuming from ``out/resume.pt`` when a killed run left
    one with the same settings), ``logs/*_log.tsv`` and ``out/run_info.json`` (device,
    versions: no timestamps, so reruns give the same bytes). Returns the checkpoint path.
    """
    from scorelab.compute import apply_threads, compute_info, pin_cpu

    pin_cpu(resolve_compute(params))  # no-op when the stage pinned it already
    import torch

    from scorelab.training import get_trainer, pick_device, train_variant

    apply_threads(resolve_compute(params))

    v = variant(params, name)
    trainer = get_trainer(v["trainer"])
    train = resolve_train(params, name)
    data_dir = Path(data_dir)
    encoding = json.loads((data_dir / "encoding.json").read_text())
    data = {split: load_npz(data_dir / f"{split}.npz") for split in trainer.splits}
    device = pick_device()
    t0 = time.perf_counter()
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
    )
    print(f"train {name}: {time.perf_counter() - t0:.1f} s on {device}")
    write_json(
        Path(out) / "run_info.json",
        {
            "variant": name,
            "trainer": v["trainer"],
            "model": v["model"],
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else platform.processor(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "compute": compute_info(),
            "arch": resolve_arch(params, name),
            "train": train,
        },
    )
    return ckpt
