"""The GPU path without a GPU (issue 21): every trainer's real step under emulated CUDA.

Each variant (the default run's and the papers catalogue's, 30) takes three tiny steps
on fake CUDA tensors under bf16 autocast (tests/cuda_emulation.py: torch's own CUDA
dispatch and autocast rules, no numbers). This catches an operator CUDA's autocast
refuses, a tensor on the wrong device, and host syncs: a step may sync at most once per
log row it writes (its logged scalars, read back in one copy), and copies nothing
between host and GPU.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from cuda_emulation import TORCH_PINNED, emulated_cuda
from scorelab.conf import compose
from scorelab.errors import ParamsError
from scorelab.pipeline.train import run_train
from scorelab.training import run as run_module
from scorelab.training import runlog
from scorelab.validation import validate
from tiny_datasets import encode_datasets

REPO = Path(__file__).resolve().parents[1]
# every variant: the default run's and the papers catalogue's (their own corpora)
PARAMS = compose(REPO / "conf", catalogues=["papers"])
STEPS = 3

pytestmark = pytest.mark.skipif(
    not torch.__version__.startswith(TORCH_PINNED) or not hasattr(torch._C, "_ensureCUDADeviceGuardSet"),
    reason=f"the CUDA emulation uses torch {TORCH_PINNED} internals (pyproject pins it)",
)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    return encode_datasets(PARAMS, tmp_path_factory.mktemp("datasets"))


def tiny_cuda(name: str | None = None, **compute) -> dict:
    params = copy.deepcopy(PARAMS)
    params["base"]["profile"] = "tiny"
    params["base"]["device"] = "cuda"
    params["compute"].update(compute)
    validate(params)
    return params


def emulated_steps(
    params: dict, name: str, data: Path, tmp_path: Path, monkeypatch
) -> list[tuple[int, int, list]]:
    """(syncs, log rows, what synced) of each step of ``name`` under emulated CUDA."""
    per_step: list[tuple[int, int, list]] = []
    rows = {"n": 0}
    real_steps, real_append = run_module.Run.steps, runlog.TsvLog.append

    def append(self, *values):
        rows["n"] += 1
        return real_append(self, *values)

    with emulated_cuda() as syncs:

        def steps(self, total, every, state):
            for step in real_steps(self, total, every, state):
                before, rows["n"], events = syncs.count, 0, len(syncs.events)
                yield step
                per_step.append((syncs.count - before, rows["n"], syncs.events[events:]))

        monkeypatch.setattr(run_module.Run, "steps", steps)
        monkeypatch.setattr(runlog.TsvLog, "append", append)
        run_train(params, name, data, tmp_path / "model", tmp_path / "logs", max_steps=STEPS, progress=False)
    return per_step


@pytest.mark.parametrize("name", list(PARAMS["variants"]))
def test_every_variant_steps_under_emulated_cuda_with_one_sync_per_log_row(
    name, datasets, tmp_path, monkeypatch
):
    params = tiny_cuda()
    data = datasets[params["variants"][name]["dataset"]]
    per_step = emulated_steps(params, name, data, tmp_path, monkeypatch)
    assert per_step, f"{name}: no step ran"
    for i, (syncs, rows, events) in enumerate(per_step, start=1):
        assert syncs <= rows, f"{name} step {i}: {syncs} host syncs for {rows} log rows: {events}"
        assert not [e for e in events if e.startswith("copy cpu")], (
            f"{name} step {i} copies to the GPU: {events}"
        )
    info = (tmp_path / "model" / "run_info.json").read_text()
    assert '"device": "cuda:0"' in info and '"autocast": "bf16"' in info


def test_vae_bce_is_outside_cuda_autocast():
    """Defect 1: CUDA autocast refuses F.binary_cross_entropy on a bf16 sigmoid output."""
    from torch.nn import functional as F

    from scorelab.training.autoencoder import reconstruction_loss

    layer = torch.nn.Linear(8, 8)
    with emulated_cuda():
        x = torch.rand(4, 8, device="cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            probs = torch.sigmoid(layer.to("cuda")(x))
            with pytest.raises(RuntimeError, match="unsafe to autocast"):
                F.binary_cross_entropy(probs, x)  # the emulation sees what a GPU would
            assert reconstruction_loss("bce", probs, x).dtype == torch.float32


def test_amp_off_trains_in_float32(datasets, tmp_path, monkeypatch):
    """compute.amp: false turns autocast off on CUDA (and says so in run_info.json)."""
    seen = []
    real = torch.autocast.__init__

    def spy(self, device_type, *args, **kwargs):
        seen.append(device_type)
        return real(self, device_type, *args, **kwargs)

    monkeypatch.setattr(torch.autocast, "__init__", spy)
    params = tiny_cuda(amp=False)
    name = "s1_cnn_lstm_gan_jsb"
    emulated_steps(params, name, datasets[params["variants"][name]["dataset"]], tmp_path, monkeypatch)
    assert "cuda" not in seen
    assert '"autocast": "off"' in (tmp_path / "model" / "run_info.json").read_text()


def test_straight_through_binarizes_exactly_in_bf16():
    """Defect 6: in bf16, hard + v - v.detach() left 12.6 % of cells non-binary."""
    from scorelab.training.adversarial import straight_through

    values = torch.rand(64, 64, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16)
    naive = (values >= 0.5).to(values.dtype) + values - values.detach()  # the old form, in bf16
    assert ((naive != 0) & (naive != 1)).float().mean() > 0.05
    out = straight_through(values.requires_grad_(True))
    assert out.dtype == torch.float32 and set(out.detach().unique().tolist()) <= {0.0, 1.0}
    out.sum().backward()
    assert (values.grad == 1).all()  # identity backward


def test_wasserstein_estimate_is_float32_under_bf16_autocast():
    """Defect 6: the logged estimate must not be a bf16 mean (2.8e-9 rounds to 0 there)."""
    from scorelab.training.losses import wgan_clip_critic_loss

    critic = torch.nn.Linear(4, 1)
    real, fake = torch.randn(8, 4), torch.randn(8, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = wgan_clip_critic_loss(critic, real, fake, gp_weight=0.0)
    assert out.stats["wasserstein"].dtype == torch.float32 and out.loss.dtype == torch.float32


def test_paper_profile_on_a_cpu_nobody_chose_is_refused(datasets, tmp_path):
    params = copy.deepcopy(PARAMS)
    params["base"].update(profile="paper", device="auto")
    name = "s4_lstm_erk"
    with pytest.raises(ParamsError, match="base.device: cpu"):
        run_train(
            params, name, datasets[params["variants"][name]["dataset"]], tmp_path / "m", tmp_path / "l", 1
        )
    assert not (tmp_path / "m" / "checkpoint.pt").exists()


# ------------------------------------------------------------------- data-parallel


def test_workers_take_their_gpu_before_the_group_and_use_a_device_aware_backend(monkeypatch):
    """Defect 2: without set_device every rank's object broadcasts went to cuda:0, and a
    CPU tensor met an NCCL-only group ("No backend type associated with device type cpu")."""
    from scorelab.training import distributed

    calls = []
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: calls.append(("set_device", i)))
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: bool(calls and calls[-1][0] == "init"))
    monkeypatch.setattr(
        distributed.dist, "init_process_group", lambda backend: calls.append(("init", backend))
    )
    monkeypatch.setattr(distributed, "current_world", lambda: distributed.World(3, 4, 1))
    assert distributed.init_from_env("cuda") == distributed.World(3, 4, 1)
    assert calls == [("set_device", 1), ("init", "cuda:nccl,cpu:gloo")]
    assert distributed.backend_for("cpu") == "cpu:gloo"


def _ddp_worker(rank: int, data: str, out: str, port: int, queue) -> None:
    """One of two ranks: a tiny S0 run, recording the device of every tensor collective."""
    import os

    import torch.distributed as dist

    from scorelab.training import distributed

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    os.environ["LOCAL_RANK"] = str(rank)
    backend = distributed.backend_for("cpu")
    dist.init_process_group(backend=backend, rank=rank, world_size=2)
    allowed = {part.split(":")[0] for part in backend.split(",")}
    seen = []
    for fn in ("all_reduce", "broadcast", "all_gather", "reduce_scatter"):
        real = getattr(dist, fn)

        def record(tensor, *args, _real=real, _fn=fn, **kwargs):
            seen.append((_fn, tensor.device.type))
            return _real(tensor, *args, **kwargs)

        setattr(dist, fn, record)
    try:
        params = tiny_cuda()
        params["base"]["device"] = "cpu"
        name = "s0_wgan_gp_jsb"
        world = distributed.World(rank, 2, rank)
        from scorelab.params import resolve_arch, resolve_train, variant
        from scorelab.training.run import train_variant
        from scorelab.utils import load_npz

        v = variant(params, name)
        encoding = __import__("json").loads((Path(data) / "encoding.json").read_text())
        train_variant(
            v["trainer"], v["model"], resolve_arch(params, name), resolve_train(params, name),
            {"train": load_npz(Path(data) / "train.npz")}, encoding, Path(out) / "m", Path(out) / "l",
            0, max_steps=2, device="cpu", progress=False, world=world,
        )  # fmt: skip
        queue.put((rank, seen, sorted(allowed)))
    finally:
        dist.destroy_process_group()


def test_two_process_run_sends_every_collective_a_tensor_its_backend_takes(datasets, tmp_path):
    """Two gloo ranks under the device-aware map: weights, gradients and log rows all reduce
    on a device the map names (on GPUs, the same code gives NCCL the CUDA tensors)."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    data = datasets[PARAMS["variants"]["s0_wgan_gp_jsb"]["dataset"]]
    procs = [
        ctx.Process(target=_ddp_worker, args=(r, str(data), str(tmp_path), port, queue)) for r in range(2)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    for rank, seen, allowed in results:
        kinds = {fn for fn, _ in seen}
        assert {"all_reduce", "broadcast"} <= kinds, (rank, seen)  # gradients, log rows, weights
        assert all(device in allowed for _, device in seen), (rank, seen)
    assert (tmp_path / "m" / "checkpoint.pt").exists()


# ------------------------------------------------------------------- random states


def test_a_cpu_run_never_touches_cuda_rng_even_where_cuda_exists(monkeypatch):
    """Defect 7: capture_rng read every GPU's state whenever CUDA existed, for CPU runs too."""
    from scorelab.training.checkpoint import capture_rng, restore_rng

    def no(*_, **__):
        raise AssertionError("a CPU run touched CUDA's random state")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for fn in ("get_rng_state_all", "get_rng_state", "set_rng_state_all", "set_rng_state"):
        monkeypatch.setattr(torch.cuda, fn, no)
    gen = torch.Generator().manual_seed(1)
    state = capture_rng(gen, torch.device("cpu"))
    assert "cuda" not in state
    state["cuda"] = [torch.zeros(16, dtype=torch.uint8)] * 4  # written on a 4-GPU machine
    restore_rng(state, gen, torch.device("cpu"))


def test_a_cuda_run_resumes_on_a_machine_with_fewer_gpus(monkeypatch):
    """Defect 7: restore_rng set every GPU's state, and failed with fewer GPUs than the writer."""
    from scorelab.training.checkpoint import capture_rng, restore_rng

    got = {}
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device: torch.full((16,), device.index or 0))
    monkeypatch.setattr(
        torch.cuda, "set_rng_state", lambda state, device: got.update(state=state, device=device)
    )
    monkeypatch.setattr(
        torch.cuda, "set_rng_state_all", lambda *_: (_ for _ in ()).throw(RuntimeError("4 GPUs"))
    )
    gen = torch.Generator().manual_seed(1)
    state = capture_rng(gen, torch.device("cuda", 1))
    assert state["cuda"].tolist() == [1] * 16  # this run's GPU only
    restore_rng(state, gen, torch.device("cuda", 0))
    assert got["device"] == torch.device("cuda", 0)
    old = dict(state, cuda=[torch.full((16,), i) for i in range(4)])  # an older file: every GPU
    restore_rng(old, gen, torch.device("cuda", 1))
    assert got["state"].tolist() == [1] * 16


def test_gpu_check_script_runs_its_table_on_the_cpu():
    """benchmarks/gpu_check.py, for the first GPU owner, runs end to end here with --device cpu."""
    import subprocess
    import sys

    script = REPO / "benchmarks" / "gpu_check.py"
    args = [
        "--device",
        "cpu",
        "--profile",
        "tiny",
        "--steps",
        "3",
        "--variants",
        "s4_lstm_erk",
        "s1_naive_jsb",
    ]
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| s")]
    assert [r.split(" | ")[0] for r in rows] == ["| s4_lstm_erk", "| s1_naive_jsb"]
    assert all(r.split(" | ")[1] == "ok" for r in rows)
    none = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert none.returncode == 2 and "torch sees no GPU" in none.stdout  # this machine has none


# --------------------------------------------------------------- the other defects


def test_compiled_wgan_gp_trains(datasets, tmp_path, monkeypatch):
    """Defect 3: under compute.compile, WGAN-GP's penalty failed with "torch.compile with
    aot_autograd does not currently support double backward" (reproduced with S0). The
    aot_eager backend raises the same error as inductor and needs no C compiler."""
    import torch.nn as nn

    real_compile = nn.Module.compile
    monkeypatch.setattr(nn.Module, "compile", lambda self, **kw: real_compile(self, backend="aot_eager"))
    params = copy.deepcopy(PARAMS)
    params["base"].update(profile="tiny", device="cpu")
    params["compute"]["compile"] = True
    name = "s0_wgan_gp_jsb"
    ckpt = run_train(
        params, name, datasets[params["variants"][name]["dataset"]], tmp_path / "m", tmp_path / "l", 2
    )
    assert ckpt.exists()


def test_the_device_is_said_and_recorded_before_the_first_step(datasets, tmp_path, monkeypatch, capsys):
    """Defect 5: base.device: auto fell to the CPU without a word."""
    from scorelab.training import run as run_module

    seen = {}
    real_steps = run_module.Run.steps

    def steps(self, total, every, state):
        seen["info"] = (tmp_path / "m" / "run_info.json").exists()
        seen["said"] = capsys.readouterr().out
        yield from real_steps(self, total, every, state)

    monkeypatch.setattr(run_module.Run, "steps", steps)
    params = copy.deepcopy(PARAMS)
    params["base"].update(profile="tiny", device="auto")
    name = "s4_lstm_erk"
    run_train(
        params, name, datasets[params["variants"][name]["dataset"]], tmp_path / "m", tmp_path / "l", 1, False
    )
    assert seen["info"]
    assert (
        "train s4_lstm_erk: on cpu [" in seen["said"]
        and "(base.device: auto; torch sees no GPU)" in seen["said"]
    )


def test_the_paper_profile_has_the_papers_sizes():
    """Defect 8: S0's latent noise is (2, 8, 512) in its Table 1 (512 channels; the roll is
    64 pitches here, said beside the value), and S1's Bi-LSTM draws one noise number per step."""
    from scorelab.params import resolve_arch

    params = copy.deepcopy(PARAMS)
    params["base"]["profile"] = "paper"
    assert resolve_arch(params, "s0_wgan_gp_jsb")["latent_channels"] == 512
    assert resolve_arch(params, "s1_bilstm_gan_jsb")["latent"] == 1
    assert resolve_arch(params, "s1_cnn_lstm_gan_jsb")["latent"] == 100  # Model B: noise 100
    text = (REPO / "conf" / "config.yaml").read_text()
    assert "latent noise (2, 8, 512)" in text and "The roll stays 64 pitches" in text
