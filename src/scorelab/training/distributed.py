"""Data-parallel training under ``torchrun``: one process per GPU (or CPU share), one line in dvc.yaml.

``compute.processes: N`` (N > 1) makes the train stage start itself again under
``python -m torch.distributed.run --standalone --nproc_per_node N`` (:func:`launch`), so the
stage command stays the one line of dvc.yaml and a run on several machines is the same
script under the user's own ``torchrun --nnodes ... --rdzv-endpoint ...`` (docs/gpu.md,
"Several machines"). Each worker detects the process group from torchrun's
environment (:func:`init_from_env`) with a backend per device (:func:`backend_for`):
NCCL for CUDA tensors (gradients, weights) and gloo for CPU ones (the log rows' means,
pickled objects), so no collective meets a tensor its backend cannot take. On CUDA each
worker first takes the GPU of its local rank (``torch.cuda.set_device``): object
collectives run on the current device, which is otherwise cuda:0 for every rank.

How a step is shared, identically for every trainer (they only call :meth:`Run.shard`):

- Every rank draws the same *global* batch of indices from a batch generator seeded
  alike on all ranks, and keeps its contiguous share (``batch_size / N`` items; the
  params check requires a multiple of N). So the N ranks together see exactly the batch
  a single process would.
- Gradients are averaged over the ranks before each optimizer step (a step pre-hook on
  every registered optimizer: one flattened ``all_reduce`` per step and optimizer).
  With equal shares and a per-item mean loss, the average of the ranks' gradients is the
  gradient of the global batch, as in DistributedDataParallel. We do the reduction
  ourselves instead of wrapping the networks in ``DistributedDataParallel``: the wrapper
  hides the attributes the trainers read (``latent_shape``, ``condition``), and its
  reducer does not support the double backward of WGAN-GP's gradient penalty
  (``torch.autograd.grad(create_graph=True)`` inside the step). What is lost is DDP's
  overlap of communication with the backward pass: on small models it is the
  all-reduce's latency either way (``benchmarks/ddp_scaling.py`` measures it).
- Noise and dropout differ between ranks (their generators are seeded by rank), so the
  N shares of a GAN's fake batch are not N copies of one.
- Logged scalars are averaged over the ranks before rank 0 writes them, so a log row
  describes the global batch. Only rank 0 writes logs, checkpoints and ``resume.pt``;
  ``resume.pt`` holds every rank's random state, so a resumed run continues as the
  uninterrupted one would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place in the run: ``rank`` of ``size`` processes (0 of 1 alone)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes files and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def under_torchrun() -> bool:
    """True in a worker started by torchrun (it sets RANK, WORLD_SIZE and LOCAL_RANK)."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def current_world() -> World:
    """The initialised process group's world, else a single process."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return World()


def backend_for(device_type: str) -> str:
    """The process group's backend map: ``cuda:nccl,cpu:gloo`` on GPUs, ``cpu:gloo`` on CPUs."""
    return "cuda:nccl,cpu:gloo" if device_type == "cuda" else "cpu:gloo"


def init_from_env(device_type: str) -> World:
    """Join torchrun's process group (:func:`backend_for`); a single process otherwise.

    On CUDA the worker takes the GPU of its local rank before the group exists (issue
    21: without it every rank's object broadcasts went to cuda:0).
    """
    if not under_torchrun() or int(os.environ["WORLD_SIZE"]) < 2:
        return World()
    if device_type == "cuda":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]) % max(torch.cuda.device_count(), 1))
    if not dist.is_initialized():
        dist.init_process_group(backend=backend_for(device_type))
    return current_world()


def launch(processes: int, argv: list[str] | None = None) -> int:
    """Run this command again as ``processes`` torchrun workers on this machine; their exit code.

    ``--standalone`` gives torchrun's own rendezvous on a free local port, so several
    launches (DVC queue workers) do not collide. The launcher dies with its parent
    (:func:`scorelab.process.die_with_parent`), and the workers with it.
    """
    from scorelab.process import die_with_parent

    argv = list(sys.argv if argv is None else argv)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "--",  # the script's own options after it (--logs) must not be read as torchrun's
        argv[0],
        *argv[1:],
    ]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return subprocess.run(cmd, env=env, preexec_fn=die_with_parent).returncode


def average_gradients(params: list[torch.nn.Parameter], world: World) -> None:
    """Replace each gradient by its mean over the ranks (one flattened all-reduce)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or not world.distributed:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_modules(modules: dict[str, torch.nn.Module]) -> None:
    """Give every rank rank 0's weights and buffers (they start equal; this makes it certain)."""
    for module in modules.values():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, 0)


def mean_over_ranks(values: list[float], world: World) -> list[float]:
    """The ranks' mean of each float (for log rows); ints (steps, epochs) are left as they are.

    The values are already on the host (the log row's one read-back), so the reduction
    runs on a CPU tensor, through the group's gloo backend.
    """
    if not world.distributed:
        return values
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    dist.all_reduce(t)
    means = (t / world.size).tolist()
    return [v if isinstance(v, int) else m for v, m in zip(values, means, strict=True)]


def gather_objects(obj, world: World) -> list:
    """Every rank's ``obj`` on every rank (rank order)."""
    if not world.distributed:
        return [obj]
    out = [None] * world.size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, world: World):
    """Rank 0's ``obj`` on every rank."""
    if not world.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
