"""The likelihood loop: next-token prediction on random windows of a token stream (S4).

S4 trains a Keras LSTM on every window of 64 symbols to predict the 65th, with sparse
categorical cross-entropy and Adam(0.001). We draw ``batch_size`` random windows of
``window + 1`` tokens per step (offsets from the run's seeded data generator) and use
teacher forcing with the loss on every position: S4 scores only the last symbol of each
window, and every-position loss is the same maximum-likelihood objective with more
signal per batch. An epoch is ``ceil(len(train_stream) / (batch_size * window))`` steps,
about one pass over the tokens; after each epoch the validation loss is measured over
non-overlapping windows, which score every validation token exactly once.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from scorelab.models import get_model_spec, module_dict, parse_arch
from scorelab.models.config import from_dict
from scorelab.training.checkpoint import run_fingerprint
from scorelab.training.config import LikelihoodTrainConfig
from scorelab.training.device import pick_device
from scorelab.training.losses import next_token_loss
from scorelab.training.runlog import RunCheckpoints, TsvLog
from scorelab.utils import seed_everything

TRAIN_COLUMNS = ("step", "epoch", "train_loss")
VALID_COLUMNS = ("step", "epoch", "valid_loss")
VALID_LOG_NAME = "valid_log.tsv"  # written beside the train log


def _token_tensor(stream: np.ndarray, vocab_size: int, what: str) -> torch.Tensor:
    """Check a 1-D stream of ids in [0, vocab_size) and return it as int64."""
    if stream.ndim != 1 or (stream.size and (stream.min() < 0 or stream.max() >= vocab_size)):
        raise ValueError(
            f"{what}: expected a 1-D stream of ids in [0, {vocab_size}), got shape {stream.shape}"
        )
    return torch.from_numpy(stream.astype(np.int64))


@torch.no_grad()
def stream_loss(
    model: nn.Module, ids: torch.Tensor, window: int, batch_size: int, device: torch.device
) -> float:
    """Mean next-token cross-entropy over non-overlapping windows covering ``ids``.

    Window k predicts tokens ``k*window+1 .. (k+1)*window``; the last window may be
    shorter. Returns NaN for a stream of fewer than 2 tokens.
    """
    if len(ids) < 2:
        return math.nan
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    n_full = (len(ids) - 1) // window
    full = ids[: n_full * window + 1]
    starts = torch.arange(n_full) * window
    span = torch.arange(window + 1)
    for lo in range(0, n_full, batch_size):
        batch = full[starts[lo : lo + batch_size, None] + span].to(device)  # (b, window + 1)
        total += next_token_loss(model(batch[:, :-1]), batch[:, 1:], reduction="sum").item()
        count += batch[:, 1:].numel()
    rest = ids[n_full * window :]  # (r,) with r in [1, window]
    if len(rest) > 1:
        batch = rest.unsqueeze(0).to(device)  # (1, r)
        total += next_token_loss(model(batch[:, :-1]), batch[:, 1:], reduction="sum").item()
        count += len(rest) - 1
    model.train(was_training)
    return total / count


def train_likelihood(
    name: str,
    arch: dict[str, Any],
    train: dict[str, Any],
    train_stream: np.ndarray,
    valid_stream: np.ndarray,
    encoding: dict[str, Any],
    out_dir: Path,
    log_path: Path,
    seed: int,
    max_steps: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Path:
    """Train a next-token model; return the path of ``out_dir/checkpoint.pt``.

    Parameters
    ----------
    name
        A key of ``MODELS`` of the likelihood family (``s4_lstm``).
    arch, train
        The variant's ``arch:`` and ``train:`` mappings (strictly checked; see
        :class:`~scorelab.training.config.LikelihoodTrainConfig`).
    train_stream, valid_stream
        1-D integer token streams (songs joined by their delimiters).
    encoding
        The codec's description (``vocab_size``), recorded in the checkpoint.
    out_dir
        Receives ``checkpoint.pt`` (and ``resume.pt`` while the run is unfinished).
    log_path
        TSV of one row per step: step, epoch, train_loss. Beside it,
        ``valid_log.tsv``: step, epoch, valid_loss after every epoch (and at the last
        step when ``train.max_steps`` ends the run mid-epoch).
    seed
        Seeds weights, window offsets and dropout: same params on the CPU, same bytes.
    max_steps
        Stop after this many steps in total as if interrupted (``resume.pt`` and a
        ``checkpoint.pt`` of the current weights are written; the next call resumes).
    device
        Torch device; default :func:`~scorelab.training.device.pick_device`.
    progress
        Show a tqdm bar.

    Returns
    -------
    Path
        ``out_dir/checkpoint.pt``.

    Raises
    ------
    ValueError
        Unknown model, a model of the other family, ids outside the vocabulary, or a
        training stream shorter than ``window + 1``.
    ParamsError
        A bad ``arch`` or ``train`` key.
    """
    spec = get_model_spec(name)
    if spec.family != "likelihood":
        raise ValueError(f"model {name!r} is {spec.family}; train it with train_adversarial")
    arch_obj = parse_arch(name, arch)
    arch_cfg = asdict(arch_obj)
    cfg = from_dict(LikelihoodTrainConfig, train, "train")
    out_dir, log_path, dev = Path(out_dir), Path(log_path), pick_device(device)
    fingerprint = run_fingerprint(name, arch_cfg, asdict(cfg), encoding, seed, train_stream, valid_stream)

    seed_everything(seed)
    model = spec.builder(arch_obj, encoding)
    ids = _token_tensor(train_stream, model.vocab_size, "train_stream")
    valid_ids = _token_tensor(valid_stream, model.vocab_size, "valid_stream")
    if len(ids) < cfg.window + 1:
        raise ValueError(f"train_stream has {len(ids)} tokens; windows need window + 1 = {cfg.window + 1}")
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    modules = module_dict(spec.family, model)
    rng = torch.Generator().manual_seed(seed)  # the data generator: window offsets

    logs = {
        "train": TsvLog(log_path, TRAIN_COLUMNS),
        "valid": TsvLog(log_path.with_name(VALID_LOG_NAME), VALID_COLUMNS),
    }
    meta = dict(
        model_name=name,
        family=spec.family,
        arch=arch_cfg,
        train=asdict(cfg),
        encoding=encoding,
        fingerprint=fingerprint,
    )
    run = RunCheckpoints(out_dir, meta, modules, {"model": opt}, rng, logs)
    start, _ = run.resume()

    steps_per_epoch = math.ceil(len(ids) / (cfg.batch_size * cfg.window))
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    stop = total if max_steps is None else max(start, min(total, max_steps))
    span = torch.arange(cfg.window + 1)  # (window + 1,)
    bar = tqdm(total=total, initial=start, desc=f"train {name}", unit="step", disable=not progress)
    for step in range(start + 1, stop + 1):
        offsets = torch.randint(0, len(ids) - cfg.window, (cfg.batch_size,), generator=rng)  # (B,)
        batch = ids[offsets[:, None] + span].to(dev)  # (B, window + 1)
        loss = next_token_loss(model(batch[:, :-1]), batch[:, 1:])  # teacher forcing, every position
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

        epoch = math.ceil(step / steps_per_epoch)
        logs["train"].append(step, epoch, loss.item())
        bar.update(1)
        bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3g}")
        if step % steps_per_epoch == 0 or step == total:
            logs["valid"].append(step, epoch, stream_loss(model, valid_ids, cfg.window, cfg.batch_size, dev))
        run.periodic(step, stop, cfg.checkpoint_every, {})
    bar.close()
    return run.finish(stop, total, {})
