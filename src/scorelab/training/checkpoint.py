"""Self-describing checkpoints, run fingerprints and RNG snapshots.

A checkpoint carries the model name, its architecture, the training config, the encoding
and the step, so sampling rebuilds the network from the file alone and never reads
params.yaml (the nanoGPT habit; docs/design.md, "Checkpoints describe themselves").

File format: ``torch.save`` of one dict, read back with ``weights_only=True`` (no
arbitrary pickles), with the keys

    format       "scorelab-checkpoint"        version      2
    model_name   key of scorelab.models.MODELS
    trainer      key of scorelab.training.registry.TRAINERS (how it learned and how it samples)
    arch, train, encoding                     plain JSON-like dicts
    step         int, updates done            fingerprint  sha256 hex of the run's inputs
    modules      {"generator": state_dict, "critic": ...} or {"model": state_dict}
    optimizers   {same names: optimizer state_dict} or None   (resume.pt only)
    rng          {"torch", "numpy", "python", "data"[, "cuda"]} or None (resume.pt only)
    state        loop state ({"log_rows": ..., "sampler": ...}) or None (resume.pt only)

Same bytes for the same content: ``torch.save`` to a *file* writes the file's name into
the zip (``<stem>/data.pkl``), and an atomic write goes through a temporary name holding
the process id; so we serialise to memory (the zip then says ``archive/``) and write the
bytes. Zip entries carry a fixed 1980 timestamp. The meta dicts go through a JSON round
trip so that pickle's object-identity memo sees the same structure in every run.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from scorelab.errors import CheckpointError
from scorelab.models import MODELS, build_model
from scorelab.utils import atomic_path

FORMAT = "scorelab-checkpoint"
VERSION = 2
_META_KEYS = ("model_name", "trainer", "arch", "train", "encoding", "step", "fingerprint", "modules")


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: its meta, weights and (for resume files) training state."""

    path: Path
    model_name: str
    trainer: str
    arch: dict[str, Any]
    train: dict[str, Any]
    encoding: dict[str, Any]
    step: int
    fingerprint: str
    modules: dict[str, dict[str, torch.Tensor]]
    optimizers: dict[str, Any] | None = None
    rng: dict[str, Any] | None = None
    state: dict[str, Any] | None = None

    def build(self, device: str | torch.device = "cpu") -> dict[str, nn.Module]:
        """Rebuild the networks from the recorded name, arch and encoding, with weights.

        Returns
        -------
        dict[str, nn.Module]
            As :func:`scorelab.models.build_model`, in eval mode, on ``device``.

        Raises
        ------
        CheckpointError
            When the recorded model is unknown or the weights do not fit it.
        """
        try:
            with torch.random.fork_rng(devices=[]):  # initial weights are overwritten: leave the RNG alone
                built = build_model(self.model_name, self.arch, self.encoding)
            self.load_into(built)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"{self.path}: cannot rebuild {self.model_name!r}: {exc}") from exc
        for module in built.values():
            module.to(device).eval()
        return built

    def load_into(self, modules: dict[str, nn.Module]) -> None:
        """Load the recorded weights into ``modules`` (same names), strictly."""
        if set(modules) != set(self.modules):
            raise CheckpointError(
                f"{self.path}: holds modules {sorted(self.modules)}, expected {sorted(modules)}"
            )
        for name, module in modules.items():
            module.load_state_dict(self.modules[name])


def _cpu(obj: Any) -> Any:
    """Every tensor of a nested dict/list/tuple on the CPU (so files load anywhere)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        out = type(obj)((k, _cpu(v)) for k, v in obj.items())
        if hasattr(obj, "_metadata"):  # state_dict versions (BatchNorm's), read by load_state_dict
            out._metadata = obj._metadata
        return out
    if isinstance(obj, list | tuple):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def _plain(obj: Any) -> Any:
    """JSON round trip: checks the meta is plain data and gives it a canonical structure."""
    return json.loads(json.dumps(obj, sort_keys=True))


def save_checkpoint(
    path: Path | str,
    *,
    model_name: str,
    trainer: str,
    arch: dict[str, Any],
    train: dict[str, Any],
    encoding: dict[str, Any],
    step: int,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None,
    rng: dict[str, Any] | None,
    fingerprint: str,
    state: dict[str, Any] | None = None,
) -> Path:
    """Write a self-describing checkpoint atomically, with stable bytes.

    Parameters
    ----------
    path
        Destination; written via a temporary sibling and renamed (``atomic_path``).
    model_name, trainer, arch, train, encoding
        What :meth:`Checkpoint.build` needs to rebuild the model; JSON-like dicts.
    step
        Updates done so far.
    modules, optimizers
        Named modules and (for resume files) their optimizers; saved as state dicts.
    rng
        :func:`capture_rng` output (resume files), else None.
    fingerprint
        :func:`run_fingerprint` of the run.
    state
        The loop's own resume state (log row counts, sampler position), else None.

    Returns
    -------
    Path
        ``path``.
    """
    obj = {
        "format": FORMAT,
        "version": VERSION,
        "model_name": model_name,
        "trainer": trainer,
        "arch": _plain(arch),
        "train": _plain(train),
        "encoding": _plain(encoding),
        "step": int(step),
        "fingerprint": fingerprint,
        "modules": {name: _cpu(m.state_dict()) for name, m in modules.items()},
        "optimizers": None
        if optimizers is None
        else {n: _cpu(o.state_dict()) for n, o in optimizers.items()},
        "rng": _cpu(rng),
        "state": _cpu(state),
    }
    buffer = io.BytesIO()  # in memory: a file name would be written into the zip
    torch.save(obj, buffer)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def load_checkpoint(path: Path | str, device: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    CheckpointError
        The file is missing, is not a readable torch file, or is not a scorelab
        checkpoint of a known version; the message names the path and the reason.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad zip or pickle; all mean "corrupt"
        raise CheckpointError(f"{path}: not a readable checkpoint ({_reason(exc)})") from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a scorelab checkpoint (no format={FORMAT!r} key)")
    if obj.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {obj.get('version')!r}, this code reads {VERSION}")
    missing = [k for k in _META_KEYS if k not in obj]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    if obj["model_name"] not in MODELS:
        raise CheckpointError(f"{path}: unknown model {obj['model_name']!r}; known: {sorted(MODELS)}")
    return Checkpoint(
        path=path,
        **{k: obj[k] for k in _META_KEYS},
        optimizers=obj.get("optimizers"),
        rng=obj.get("rng"),
        state=obj.get("state"),
    )


def _reason(exc: Exception) -> str:
    """One short line for why torch could not read a file (its own messages run to a page,
    and for a weights-only unpickling failure advise ``weights_only=False``, which is
    wrong for a damaged file and unsafe for a foreign one)."""
    import pickle

    if isinstance(exc, pickle.UnpicklingError):
        return "UnpicklingError: its content is not a checkpoint's plain data (damaged or foreign bytes)"
    first = str(exc).strip().splitlines()[0].split(". ")[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first[:160]}"


def array_digest(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes (C order)."""
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def run_fingerprint(
    model_name: str, arch: Any, train: Any, encoding: dict[str, Any], seed: int, *arrays: np.ndarray
) -> str:
    """Hash of everything that determines a run's result: resume only when it matches.

    Covers the model name, the arch and train configs (as dicts, after defaults), the
    encoding, the seed and the sha256 of every data array. Not the ``max_steps``
    argument: an interrupted run and its continuation are the same run.
    """
    meta = {"model": model_name, "arch": arch, "train": train, "encoding": encoding, "seed": seed}
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for array in arrays:
        h.update(array_digest(array).encode())
    return h.hexdigest()


def capture_rng(data_generator: torch.Generator, device: torch.device | None = None) -> dict[str, Any]:
    """Snapshot every RNG a loop draws from: torch (dropout, init), NumPy, Python, data.

    On a CUDA ``device`` also that GPU's own generator (dropout there), and only that
    one: a CPU run never touches CUDA, even on a machine that has it, and a run resumed
    on a machine with fewer GPUs finds the one state it needs (issue 21).
    """
    name, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": (name, torch.from_numpy(key.astype(np.int64)), int(pos), int(has_gauss), float(gauss)),
        "python": random.getstate(),
        "data": data_generator.get_state(),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(
    state: dict[str, Any], data_generator: torch.Generator, device: torch.device | None = None
) -> None:
    """Undo :func:`capture_rng`: the run continues with the very next random numbers.

    The GPU's state is restored to this run's CUDA ``device`` alone (older resume files
    hold a list, one state per GPU of the machine that wrote them: this device's index
    is taken when it is in the list, else the first).
    """
    torch.set_rng_state(state["torch"])
    name, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    data_generator.set_state(state["data"])
    if "cuda" in state and device is not None and device.type == "cuda":
        cuda = state["cuda"]
        if isinstance(cuda, list | tuple):
            index = device.index or 0
            cuda = cuda[index] if index < len(cuda) else cuda[0]
        torch.cuda.set_rng_state(cuda, device)
