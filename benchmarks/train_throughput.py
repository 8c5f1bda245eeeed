"""Training throughput of every variant: the full loop against bare forward/backward passes.

For each variant of params.yaml (at the chosen profile's settings) this measures, in one
run on this machine:

- loop: ``train_variant`` as the train stage runs it (sampler, logging, progress bar,
  periodic ``resume.pt``), timed over ``--steps`` steps, minus the fixed cost of a
  zero-step run (building the networks, writing the checkpoint);
- bare: the same networks, losses and optimizers on in-memory tensors, with nothing but
  the forward passes, backward passes and optimizer steps of the same update;

and prints samples per second for both and their ratio (the target is >= 0.8: the loop
adds at most a fifth to the work the update itself needs). It also prints the device and
the thread count, which the figures depend on. Run after ``dvc repro`` has encoded the
datasets (``dvc repro encode@<dataset>``):

    python benchmarks/train_throughput.py                  # every variant, 20 steps
    python benchmarks/train_throughput.py --steps 50 --variants s0_wgan_gp_jsb

This is a measurement, not a test: nothing asserts on its numbers.
"""

# ruff: noqa: E402  (the CPU kernels are pinned before torch is imported, as in stages/)
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from scorelab.compute import apply_threads, compute_info, pin_cpu_from_file

# The stages' own compute settings (kernels before torch computes, threads, denormals),
# so the figures are those of `dvc repro`; --params must then come as "--params FILE".
pin_cpu_from_file(sys.argv[sys.argv.index("--params") + 1] if "--params" in sys.argv[:-1] else "params.yaml")

import numpy as np
import torch

from scorelab.config import from_dict
from scorelab.models import build_model
from scorelab.params import load_params, resolve_arch, resolve_compute, resolve_train
from scorelab.sampling.generators import generate
from scorelab.training.adversarial import MODE_SEEKING_EPS, generate_pair
from scorelab.training.device import device_name, pick_device
from scorelab.training.losses import ADVERSARIAL_LOSSES, window_loss
from scorelab.training.optim import add_noise, l2_penalty, make_optimizer
from scorelab.training.registry import get_trainer
from scorelab.training.run import seed_everything, train_variant
from scorelab.utils import load_npz


def bare_adversarial(modules, cfg, data, steps: int, device) -> float:
    """Seconds per iteration of n_critic critic and n_gen generator updates, nothing else."""
    gen, critic = (modules[k].to(device).train() for k in ("generator", "critic"))
    loss_fn = ADVERSARIAL_LOSSES[cfg.loss]
    opt_g = make_optimizer(cfg.optimizer_g, gen.parameters(), cfg.lr_g, cfg.beta1, cfg.beta2, cfg.momentum)
    opt_d = make_optimizer(cfg.optimizer_d, critic.parameters(), cfg.lr_d, cfg.beta1, cfg.beta2, cfg.momentum)
    if cfg.noise_std:
        add_noise(gen, cfg.noise_std)
        add_noise(critic, cfg.noise_std)
    x = torch.from_numpy(np.ascontiguousarray(data["train"]["x"])).to(device)
    rng = torch.Generator().manual_seed(0)
    batches = [x[torch.randint(0, len(x), (cfg.batch_size,), generator=rng)].float() for _ in range(8)]

    def one(i: int) -> None:
        for k in range(cfg.n_critic):
            real = batches[(i + k) % len(batches)]
            with torch.no_grad():
                fake = generate(gen, real, rng)
            opt_d.zero_grad(set_to_none=True)
            loss = loss_fn.critic_loss(critic, real, fake, gp_weight=cfg.gp_weight, generator=rng).loss
            if cfg.l2_weight:
                loss = loss + cfg.l2_weight * l2_penalty(critic)
            loss.backward()
            opt_d.step()
            if loss_fn.after_critic_step is not None:
                loss_fn.after_critic_step(critic, cfg.clip_value)
        critic.requires_grad_(False)
        for _ in range(cfg.n_gen):
            opt_g.zero_grad(set_to_none=True)
            if cfg.mode_seeking:  # MSGAN's second fake is part of the update's own work
                fake, ratio = generate_pair(gen, real, rng)
                loss_g = loss_fn.generator_loss(critic, fake) + cfg.mode_seeking / (ratio + MODE_SEEKING_EPS)
            else:
                loss_g = loss_fn.generator_loss(critic, generate(gen, real, rng))
            if cfg.l2_weight:
                loss_g = loss_g + cfg.l2_weight * l2_penalty(gen)
            loss_g.backward()
            opt_g.step()
        critic.requires_grad_(True)

    return timed(one, steps, device)


def bare_likelihood(modules, cfg, data, steps: int, device) -> float:
    """Seconds per update of a next-token model on random windows, nothing else."""
    model = modules["model"].to(device).train()
    opt = make_optimizer("adam", model.parameters(), cfg.lr)
    ids = torch.from_numpy(data["train"]["x"].astype(np.int64)).to(device)
    rng = torch.Generator().manual_seed(0)
    span = torch.arange(cfg.window + 1, device=device)
    batches = [
        ids[
            torch.randint(0, len(ids) - cfg.window, (cfg.batch_size,), generator=rng).to(device)[:, None]
            + span
        ]
        for _ in range(8)
    ]

    def one(i: int) -> None:
        batch = batches[i % len(batches)]
        loss = window_loss(model(batch[:, :-1]), batch, cfg.loss_on)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return timed(one, steps, device)


def _image_batches(data, cfg, encoding, device) -> list[torch.Tensor]:
    """Eight random training batches in [0, 1], on the device (as the trainers see them)."""
    scale = float(encoding.get("scale", 1) or 1)
    x = torch.from_numpy(np.ascontiguousarray(data["train"]["x"])).to(device)
    rng = torch.Generator().manual_seed(0)
    return [x[torch.randint(0, len(x), (cfg.batch_size,), generator=rng)].float() / scale for _ in range(8)]


def bare_updates(model, opt, loss_of, batches, steps: int, device) -> float:
    """Seconds per Adam update of ``model`` on ``loss_of(batch)``, cycling through ``batches``."""

    def one(i: int) -> None:
        loss = loss_of(batches[i % len(batches)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return timed(one, steps, device)


def bare_vae(modules, cfg, data, steps: int, device, encoding) -> float:
    """Seconds per update of S2's VAE (BCE + KL) on random batches, nothing else."""
    from scorelab.training.vae import vae_loss

    model = modules["model"].to(device).train()
    opt = make_optimizer("adam", model.parameters(), cfg.lr, cfg.beta1, cfg.beta2)
    rng = torch.Generator().manual_seed(1)
    batches = _image_batches(data, cfg, encoding, device)
    return bare_updates(
        model, opt, lambda b: vae_loss(model, b, cfg.kl_weight, rng)[0], batches, steps, device
    )


def bare_autoencoder(modules, cfg, data, steps: int, device, encoding) -> float:
    """Seconds per update of an autoencoder (S3's Hilbert model) on random batches, nothing else."""
    from scorelab.training.autoencoder import reconstruction_loss

    model = modules["model"].to(device).train()
    opt = make_optimizer("adam", model.parameters(), cfg.lr, cfg.beta1, cfg.beta2)
    batches = _image_batches(data, cfg, encoding, device)
    return bare_updates(
        model, opt, lambda b: reconstruction_loss(cfg.loss, model(b), b), batches, steps, device
    )


def bare_next_column(modules, cfg, data, steps: int, device, encoding) -> float:
    """Seconds per update of a next-column model on random (window, start) pairs, nothing else."""
    from scorelab.training.next_column import column_loss, columns_of, predict

    model = modules["model"].to(device).train()
    opt = make_optimizer("adam", model.parameters(), cfg.lr)
    cols = columns_of(data["train"]["x"]).to(device)
    span = cfg.in_columns + cfg.out_columns
    rng = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(8):
        w = torch.randint(0, len(cols), (cfg.batch_size,), generator=rng)
        t = torch.randint(0, cols.shape[1] - span + 1, (cfg.batch_size,), generator=rng)
        seq = cols[w[:, None], t[:, None] + torch.arange(span)]
        batches.append((seq[:, : cfg.in_columns], seq[:, cfg.in_columns :]))

    def loss_of(pair):
        return column_loss(cfg, predict(model, pair[0], cfg.out_columns), pair[1])

    return bare_updates(model, opt, loss_of, batches, steps, device)


BARE = {
    "adversarial": lambda m, c, d, s, dev, enc: bare_adversarial(m, c, d, s, dev),
    "likelihood": lambda m, c, d, s, dev, enc: bare_likelihood(m, c, d, s, dev),
    "vae": bare_vae,
    "autoencoder": bare_autoencoder,
    "next_column": bare_next_column,
}
# real samples consumed by one step of each trainer
SAMPLES = {
    "adversarial": lambda cfg: cfg.batch_size * cfg.n_critic,
    "likelihood": lambda cfg: cfg.batch_size,
    "vae": lambda cfg: cfg.batch_size,
    "autoencoder": lambda cfg: cfg.batch_size,
    "next_column": lambda cfg: cfg.batch_size,
}


def timed(step_fn, steps: int, device) -> float:
    """Seconds per call of ``step_fn`` after two warm-up calls."""
    for i in range(2):
        step_fn(i)
    sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        step_fn(i)
    sync(device)
    return (time.perf_counter() - t0) / steps


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def loop_seconds_per_step(
    v: dict, arch: dict, train: dict, data: dict, encoding: dict, steps: int, device
) -> float:
    """(time of a ``steps``-step run - time of a 0-step run) / steps, each in a fresh folder.

    A first 0-step run warms the process up (allocators, lazy imports) and is not counted.
    """
    times = []
    for n in (0, 0, steps):
        tmp = Path(tempfile.mkdtemp(prefix="scorelab-bench-"))
        try:
            t0 = time.perf_counter()
            train_variant(
                v["trainer"], v["model"], arch, train, data, encoding, tmp, tmp, 0,
                max_steps=n, device=device, progress=False,
            )  # fmt: skip
            sync(device)
            times.append(time.perf_counter() - t0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return (times[2] - times[1]) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--profile", default=None, help="profile whose sizes to use (default base.profile)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--variants", default="", help="comma-separated names (default: all)")
    ap.add_argument("--json", default="", help="also write the rows to this JSON file")
    args = ap.parse_args()
    params = load_params(args.params)
    apply_threads(resolve_compute(params))
    device = pick_device(params["base"].get("device", "auto"))  # base.device, as the train stage
    names = [n for n in params["variants"] if not args.variants or n in args.variants.split(",")]
    print(f"device {device} ({device_name(device)}), torch threads {torch.get_num_threads()}, "
          f"{args.steps} steps")  # fmt: skip
    print(f"compute: {compute_info()}")
    header = f"{'variant':24} {'trainer':12} {'samples/step':>12} {'loop /s':>9} {'bare /s':>9} {'ratio':>6}"
    print(header)
    rows = []
    for name in names:
        v = params["variants"][name]
        trainer = get_trainer(v["trainer"])
        if v["trainer"] not in BARE:
            print(f"{name:24} {v['trainer']:12} {'(no gradient updates: not timed)':>40}")
            continue
        data_dir = Path("data/encoded") / v["dataset"]
        if not (data_dir / "encoding.json").is_file():
            print(f"{name:24} missing {data_dir}: run `dvc repro encode@{v['dataset']}` first")
            continue
        encoding = json.loads((data_dir / "encoding.json").read_text())
        data = {s: load_npz(data_dir / f"{s}.npz") for s in trainer.splits}
        train = resolve_train(params, name, args.profile)
        cfg = from_dict(trainer.config, train, f"variants.{name}.train")
        arch = resolve_arch(params, name, args.profile)
        loop = loop_seconds_per_step(v, arch, train, data, encoding, args.steps, device)
        seed_everything(0)
        bare = BARE[v["trainer"]](
            build_model(v["model"], arch, encoding), cfg, data, args.steps, device, encoding
        )
        n = SAMPLES[v["trainer"]](cfg)
        row = dict(variant=name, trainer=v["trainer"], samples_per_step=n, loop=n / loop, bare=n / bare)
        row["ratio"] = row["loop"] / row["bare"]
        rows.append(row)
        print(
            f"{name:24} {v['trainer']:12} {n:12d} {row['loop']:9.1f} {row['bare']:9.1f} {row['ratio']:6.2f}"
        )
    if args.json:
        info = {"device": str(device), "threads": torch.get_num_threads(), "steps": args.steps, "rows": rows}
        Path(args.json).write_text(json.dumps(info, indent=2) + "\n")


if __name__ == "__main__":
    main()
