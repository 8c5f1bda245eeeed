"""CUDA without a GPU: torch's own CUDA dispatch and autocast rules on fake CUDA tensors.

A trainer's real step runs here as it would on a GPU, except that no number is computed:
every tensor is a ``FakeTensor`` (shape, dtype and device only) and every operator goes
through torch's CUDA dispatch keys, autocast's CUDA cast policy included. That is enough
to catch what CPU runs cannot (issue 21): an operator CUDA's autocast refuses in bf16
(``binary_cross_entropy``), a tensor on the wrong device, a host sync or a copy to the
GPU inside the step.

How, and what is private (all of it pinned to torch 2.13.0, the version pyproject pins):

- ``FakeTensorMode(allow_non_fake_inputs=True)`` (``torch._subclasses``): real CPU
  tensors entering it (weights built on the CPU, NumPy data) become fake ones.
- A CUDA *device guard*. On a CPU-only build no guard is registered for CUDA, so
  ``Tensor.to("cuda")`` fails with "PyTorch is not linked with support for cuda devices".
  torch ships a fake one (``c10::impl::FakeGuardImpl<CUDA>``) and installs it through
  ``torch._C._ensureCUDADeviceGuardSet()`` -- but only to replace a registered guard
  that sees no device, never into an empty slot. :func:`install_fake_cuda_guard`
  registers a stand-in whose every method answers 0 (so "no device") through c10's
  exported ``DeviceGuardImplRegistrar`` (ctypes), then lets torch swap in its own fake
  guard. The stand-in is never called after that.
- ``torch.cuda.is_available`` and friends report one bf16-capable GPU, so
  ``torch.autocast("cuda")`` turns on and scorelab picks ``cuda``.
- The run's data generators stay CPU ones (a CUDA generator needs the CUDA library);
  fake random draws ignore a generator's device, so a draw made with ``device=cuda``
  is still one on the GPU as far as the count below is concerned.
- Networks are built outside the fake mode, as real CPU modules (a module whose
  parameters were born fake cannot be moved: ``_apply`` fails to swap them), then
  moved to "cuda" by the run as on a GPU.
- Checkpoints are not written (fake tensors have no bytes).
- Backward passes are not emulated. The autograd engine asks the build for its
  accelerator before running a CUDA graph ("Cannot access accelerator device when none
  is available"), below anything Python can patch. ``Tensor.backward`` is a no-op and
  ``torch.autograd.grad`` returns zeros of the inputs' shapes and devices (so WGAN-GP's
  penalty runs on), and optimizers then skip parameters without gradients. What runs
  is every forward pass, loss, autocast decision, log row and host read-back of the
  step; the backward passes are covered by the CPU tests (two real steps per variant)
  and, on a GPU, by benchmarks/gpu_check.py.

:class:`HostSyncs` counts what stalls a GPU's queue: a ``.item()``/``.tolist()`` of a
CUDA tensor (``aten._local_scalar_dense``) and any copy between the host and the GPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
from collections.abc import Iterator
from unittest import mock

import torch
from torch._subclasses.fake_tensor import FakeTensorMode, unset_fake_temporarily
from torch.utils._python_dispatch import TorchDispatchMode

TORCH_PINNED = "2.13.0"
_REGISTRAR = "_ZN3c104impl24DeviceGuardImplRegistrarC1ENS_10DeviceTypeEPKNS0_24DeviceGuardImplInterfaceE"
_KEEP: list = []  # the ctypes stand-in must outlive the call that registers it


def install_fake_cuda_guard() -> None:
    """Give CUDA torch's fake device guard on a build that has none (see the module doc)."""
    if torch.version.cuda is not None:  # a CUDA build registers its own; torch swaps it when no GPU
        torch._C._ensureCUDADeviceGuardSet()
        return
    lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libc10.so"))
    registrar = getattr(lib, _REGISTRAR)
    registrar.argtypes = [ctypes.c_void_p, ctypes.c_int8, ctypes.c_void_p]
    zero = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(lambda _self: 0)
    vtable = (ctypes.c_void_p * 64)(*([ctypes.cast(zero, ctypes.c_void_p).value] * 64))
    stand_in = (ctypes.c_void_p * 1)(ctypes.addressof(vtable))
    this = ctypes.create_string_buffer(8)  # the registrar object itself (it has no fields)
    _KEEP.extend([zero, vtable, stand_in, this])
    registrar(this, 1, ctypes.addressof(stand_in))  # DeviceType::CUDA == 1
    torch._C._ensureCUDADeviceGuardSet()  # deviceCount() == 0: torch installs FakeGuardImpl<CUDA>


class _NoDeviceFakeMode(FakeTensorMode):
    """FakeTensorMode that knows no real GPU is there while ``torch.cuda.is_available`` says one is.

    The mode reads ``is_available`` to decide whether a device conversion may run a
    small constant tensor's operator for real on the destination: with the patched
    answer it would try a real CUDA kernel. On a machine without a driver that must
    not happen, whatever ``is_available`` says.
    """

    @property
    def avoid_device_init(self) -> bool:
        return True


class HostSyncs(TorchDispatchMode):
    """Counts host syncs: scalars read from CUDA tensors and copies between host and GPU.

    A scalar read returns 0 (fake tensors hold no numbers), so the code after it runs on.
    """

    def __init__(self):
        super().__init__()
        self.count = 0
        self.events: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten._local_scalar_dense.default:
            t = args[0]
            if t.device.type == "cuda":
                self._note("item() of a CUDA tensor")
            return 0.0 if t.dtype.is_floating_point else (False if t.dtype == torch.bool else 0)
        out = func(*args, **kwargs)
        if func in (torch.ops.aten._to_copy.default, torch.ops.aten.copy_.default):
            src = args[1] if func is torch.ops.aten.copy_.default else args[0]
            dst = out
            if isinstance(src, torch.Tensor) and isinstance(dst, torch.Tensor):
                kinds = {src.device.type, dst.device.type}
                if kinds == {"cpu", "cuda"} and src.numel() > 0:
                    self._note(f"copy {src.device.type} -> {dst.device.type} {tuple(src.shape)}")
        return out

    def _note(self, what: str) -> None:
        self.count += 1
        self.events.append(what)


def _built_for_real(name: str):
    """The model spec of ``name`` whose builder runs outside the fake mode (see the module doc)."""
    from scorelab.models import get_model_spec

    spec = get_model_spec(name)

    def builder(*args):
        with unset_fake_temporarily():
            return spec.builder(*args)

    return dataclasses.replace(spec, builder=builder)


def _zero_grads(outputs, inputs, *args, **kwargs):
    """``torch.autograd.grad`` without the engine: zeros shaped like each input (see the module doc)."""
    inputs = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    return tuple(torch.zeros_like(t) for t in inputs)


@contextlib.contextmanager
def emulated_cuda() -> Iterator[HostSyncs]:
    """Run the body as on one bf16-capable GPU; yields the :class:`HostSyncs` counter."""
    install_fake_cuda_guard()
    fake = _NoDeviceFakeMode(allow_non_fake_inputs=True)
    syncs = HostSyncs()
    patches = [
        mock.patch("torch.cuda.is_available", return_value=True),
        mock.patch("torch.cuda.device_count", return_value=1),
        mock.patch("torch.cuda.is_bf16_supported", return_value=True),
        mock.patch("torch.cuda.get_device_name", return_value="emulated CUDA (FakeTensorMode)"),
        mock.patch("torch.cuda._lazy_init", return_value=None),
        mock.patch("torch.cuda.get_rng_state", return_value=torch.zeros(16, dtype=torch.uint8)),
        mock.patch(
            "scorelab.training.run.generator_on", lambda device, seed: torch.Generator().manual_seed(seed)
        ),
        mock.patch(
            "scorelab.training.vae.generator_on", lambda device, seed: torch.Generator().manual_seed(seed)
        ),
        mock.patch("scorelab.training.run.save_checkpoint", lambda path, **_: path),
        mock.patch("scorelab.training.run.get_model_spec", _built_for_real),
        mock.patch("torch.Tensor.backward", lambda *_, **__: None),
        mock.patch("torch.autograd.grad", _zero_grads),
    ]
    with contextlib.ExitStack() as stack:
        for p in patches:
            stack.enter_context(p)
        stack.enter_context(fake)
        stack.enter_context(syncs)
        yield syncs
