"""train_<family>@<variant>: encoded tensors -> self-describing checkpoint + loss TSVs."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from scorelab.params import resolve_train, variant
from scorelab.utils import load_npz, write_json


def run_train(
    params: dict,
    family: str,
    name: str,
    data_dir: Path,
    out: Path,
    logs: Path,
    max_steps: int | None = None,
    progress: bool = True,
) -> Path:
    """Train variant ``name`` of ``family`` on the dataset in ``data_dir``.

    Writes ``out/checkpoint.pt`` (resuming from ``out/resume.pt`` when a killed run left
    one with the same settings), ``logs/train_log.tsv`` (and ``valid_log.tsv`` for
    likelihood models) and ``out/run_info.json`` (device, versions: no timestamps, so
    reruns give the same bytes). Returns the checkpoint path.
    """
    import torch

    from scorelab.training import pick_device, train_adversarial, train_likelihood

    v = variant(params, family, name)
    train = resolve_train(params, family, name)
    data_dir, out, logs = Path(data_dir), Path(out), Path(logs)
    encoding = json.loads((data_dir / "encoding.json").read_text())
    seed = params["base"]["seed"]
    out.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    device = pick_device()
    common = dict(
        encoding=encoding,
        out_dir=out,
        log_path=logs / "train_log.tsv",
        seed=seed,
        max_steps=max_steps,
        device=device,
        progress=progress,
    )
    t0 = time.perf_counter()
    if family == "adversarial":
        data = load_npz(data_dir / "train.npz")["x"]
        ckpt = train_adversarial(v["model"], v.get("arch", {}), train, data, **common)
    else:
        train_stream = load_npz(data_dir / "train.npz")["x"]
        valid_stream = load_npz(data_dir / "valid.npz")["x"]
        ckpt = train_likelihood(v["model"], v.get("arch", {}), train, train_stream, valid_stream, **common)
    print(f"train {name}: {time.perf_counter() - t0:.1f} s on {device}")
    write_json(
        out / "run_info.json",
        {
            "variant": name,
            "family": family,
            "model": v["model"],
            "device": str(device),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "train": train,
        },
    )
    return ckpt
