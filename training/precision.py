"""How a training step computes on its device: number format, memory layout, optimiser kernel, matmul mode.

``--precision auto`` (the default) chooses the fast path the hardware runs natively:

* CUDA: bf16 autocast where the card computes bf16 natively
  (``torch.cuda.is_bf16_supported(including_emulation=False)``, Ampere and newer); otherwise fp16 autocast with a
  GradScaler (fp16 needs loss scaling, bf16 does not). TF32 for the fp32 matmuls and convolutions that remain.
* CPU: bf16 autocast where the CPU has bf16 instructions (AMX-BF16 or AVX-512-BF16, read from ``/proc/cpuinfo`` and
  oneDNN's own check); fp32 otherwise (emulated bf16 is slower than fp32).

Every fast path also keeps networks and inputs channels-last (oneDNN's and cuDNN's native layout for bf16/fp16
convolutions, so no reorder of activations per layer; on the CPU StarGAN stays contiguous, measured faster there)
and uses the fused Adam kernel (one kernel over all parameters instead of a loop of small ones). Weights stay fp32
(the optimiser's master copy); autocast casts each weight once per forward region and caches the cast for the
region, so a network's weights are cast once per forward (the discriminator twice per Pix2Pix step, because its
weights change between the D and the G update).

An explicit ``--precision bf16`` (or ``fp16``) where the device cannot run it natively is refused with a message
saying what it can run: never a silent fp32 run reported as bf16. The resolved choice is logged at the start and
stored in the checkpoint and in the run's ``config.json`` (``precision_resolved``).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)

PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
"""/proc/cpuinfo flags of CPUs with bf16 arithmetic: Intel AMX (Sapphire Rapids and newer), AVX-512-BF16 (Cooper Lake,
AMD Zen 4 and newer)."""


class PrecisionError(ValueError):
    """A precision the device cannot run natively; the message says what it can run."""


@dataclass(frozen=True)
class Precision:
    """The resolved way a step computes. ``name`` is what the forward passes compute in (fp32, bf16 or fp16)."""

    name: str
    requested: str
    device_type: str
    channels_last: bool
    fused_optimizer: bool
    reason: str
    threads: int = 0
    """CPU threads the run computes with (``torch.set_num_threads``); 0: PyTorch's default, left alone."""

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    @property
    def mixed(self) -> bool:
        return self.name != "fp32"

    @property
    def grad_scaling(self) -> bool:
        """fp16's narrow exponent needs loss scaling (bf16 has fp32's range and does not)."""
        return self.name == "fp16"

    def autocast(self) -> AbstractContextManager:
        """Mixed precision for the forward passes; in fp32 nothing at all (not a disabled autocast, which exists only
        for devices with an autocast backend: a ``meta`` step, which checks where tensors are made, runs too)."""
        if not self.mixed:
            return nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def layout(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` in this path's memory layout (channels-last for 4-d tensors on the fast path)."""
        if self.channels_last and tensor.dim() == 4:
            return tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def prepare(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` in this path's memory layout (parameters stay fp32: the optimiser updates those)."""
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def adam(self, parameters, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
        """Adam with the fused kernel on the fast path, PyTorch's default (foreach) otherwise."""
        if self.fused_optimizer:
            return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=True)
        return torch.optim.Adam(parameters, lr=lr, betas=betas)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler in fp16; otherwise a pass-through (``scale`` returns the loss, ``step`` just steps)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.grad_scaling)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        layout = "channels-last" if self.channels_last else "contiguous"
        optimiser = "fused Adam" if self.fused_optimizer else "foreach Adam"
        scaling = ", GradScaler" if self.grad_scaling else ""
        threads = f", {self.threads} thread(s)" if self.threads else ""
        return (f"{self.name} on {self.device_type} ({layout}, {optimiser}{scaling}{threads}; "
                f"asked {self.requested}: {self.reason})")


def eager_fp32(device: torch.device) -> Precision:
    """The plain baseline: fp32, contiguous tensors, PyTorch's default Adam (what the benchmark compares against)."""
    return Precision("fp32", "fp32", device.type, channels_last=False, fused_optimizer=False,
                     reason="eager fp32 baseline")


def fast_path(name: str, device: torch.device, requested: str | None = None, reason: str = "",
              channels_last: bool = True, threads: int = 0) -> Precision:
    """The fast path computing in ``name`` on ``device``, whether or not the hardware runs it natively (tests use
    this to run bf16 and fp16 on any CPU; runs go through :func:`resolve_precision`)."""
    if name not in DTYPES:
        raise PrecisionError(f"unknown precision {name!r}; expected one of {tuple(DTYPES)}")
    return Precision(name, requested or name, device.type,
                     channels_last=channels_last and device.type in ("cpu", "cuda"),
                     fused_optimizer=device.type in ("cpu", "cuda"), reason=reason or "chosen by the caller",
                     threads=threads)


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, ...]:
    """The bf16 instruction-set flags this CPU reports (empty where none, or where /proc/cpuinfo is unreadable)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return tuple(flag for flag in CPU_BF16_FLAGS if flag in flags)


def cpu_native_bf16() -> tuple[bool, str]:
    """(whether this CPU computes bf16 natively, why): its flags, and oneDNN's own bf16 check where available."""
    flags = cpu_bf16_flags()
    capability = torch.backends.cpu.get_cpu_capability()
    onednn = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    onednn_ok = bool(onednn()) if onednn is not None and torch.backends.mkldnn.is_available() else False
    if flags and onednn_ok:
        return True, f"CPU has {'+'.join(flags)} (torch capability {capability}, oneDNN bf16)"
    if flags:
        return False, f"CPU has {'+'.join(flags)} but this torch build's oneDNN cannot use it"
    return False, f"CPU has neither AMX-BF16 nor AVX-512-BF16 (torch capability {capability})"


def cuda_native_bf16(device: torch.device) -> tuple[bool, str]:
    name = torch.cuda.get_device_name(device)
    major, minor = torch.cuda.get_device_capability(device)
    with torch.cuda.device(device):
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    return native, f"{name} (sm_{major}{minor}) {'computes' if native else 'only emulates'} bf16"


# Models whose CPU fast path keeps the default (contiguous) layout: measured on an AVX-512-BF16 CPU (256 px, paper
# widths, bf16, steps side by side in one process; docs/training.md), StarGAN ran 1.31x (batch 1) and 1.34x (batch 8)
# faster contiguous than channels-last (its instance norm and the gradient penalty's double backward reorder
# channels-last tensors); Pix2Pix is faster channels-last.
CPU_CONTIGUOUS_MODELS = ("stargan",)


def resolve_precision(requested: str, device: torch.device, *, kind: str | None = None) -> Precision:
    """The precision a run on ``device`` uses for ``--precision requested``; refuses what the device cannot run.

    ``kind`` (the model) chooses the layout on the CPU: channels-last except for ``CPU_CONTIGUOUS_MODELS``.
    """
    if requested not in PRECISION_CHOICES:
        raise PrecisionError(f"--precision must be one of {PRECISION_CHOICES}, got {requested!r}")
    if device.type == "cuda":
        native_bf16, why = cuda_native_bf16(device)
        if requested == "auto":
            chosen = "bf16" if native_bf16 else "fp16"
            return fast_path(chosen, device, requested, why + ("" if native_bf16 else "; fp16 with loss scaling"))
        if requested == "bf16" and not native_bf16:
            raise PrecisionError(f"--precision bf16: {why}, which would make it slower than fp16 and not what was "
                                 "asked for; use --precision auto (fp16 with a GradScaler here) or --precision fp32")
        return fast_path(requested, device, requested, why)
    if device.type != "cpu":
        if requested in ("auto", "fp32"):
            return Precision("fp32", requested, device.type, False, False, f"no fast path on {device.type}")
        raise PrecisionError(f"--precision {requested}: no mixed precision on device {device.type}; use fp32")
    native_bf16, why = cpu_native_bf16()
    contiguous = kind in CPU_CONTIGUOUS_MODELS
    if contiguous:
        why += f"; {kind} contiguous (faster than channels-last on the CPU, measured)"
    if requested == "auto":
        return fast_path("bf16" if native_bf16 else "fp32", device, requested, why, channels_last=not contiguous)
    if requested == "bf16" and not native_bf16:
        raise PrecisionError(f"--precision bf16: {why}; bf16 would be emulated, slower than fp32. "
                             "Use --precision fp32 (or auto, which picks fp32 here)")
    if requested == "fp16":
        raise PrecisionError("--precision fp16 is for CUDA (with loss scaling); on the CPU use bf16 or fp32")
    return fast_path(requested, device, requested, why, channels_last=not contiguous)


def apply_threads(precision: Precision) -> None:
    """Use the precision's CPU thread count (nothing when it leaves PyTorch's default)."""
    if precision.threads and precision.device_type == "cpu":
        torch.set_num_threads(precision.threads)


def set_tf32(enabled: bool) -> None:
    """Let (or stop) CUDA's fp32 matmuls and cuDNN's fp32 convolutions use TF32 tensor cores: the one setter.

    It goes through the per-backend legacy flags (``torch.backends.cuda.matmul.allow_tf32``,
    ``torch.backends.cudnn.allow_tf32``): set that way, both APIs read it back, the old one
    (``torch.get_float32_matmul_precision()``, ``allow_tf32``, which torch.compile's inductor reads when it picks
    kernels) and the new one (``fp32_precision``). Setting the new API's ``fp32_precision`` instead makes every read
    of the old one raise RuntimeError ("mix of the legacy and new APIs"): anything in PyTorch or here that reads it
    would break. The CPU's oneDNN flags are left alone (TF32 is a CUDA format).
    """
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


@dataclass(frozen=True)
class MathSettings:
    """How fp32 computes on CUDA, read back from PyTorch (what a run logs and gpu_check reports)."""

    tf32_matmul: bool
    tf32_conv: bool
    cudnn_benchmark: bool

    def to_dict(self) -> dict:
        return asdict(self)


def math_settings() -> MathSettings:
    """The one reader: through the new API, which answers whichever API set the flags."""
    return MathSettings(tf32_matmul=torch.backends.cuda.matmul.fp32_precision == "tf32",
                        tf32_conv=torch.backends.cudnn.conv.fp32_precision == "tf32",
                        cudnn_benchmark=bool(torch.backends.cudnn.benchmark))


def configure_math(device: torch.device) -> MathSettings:
    """On CUDA: TF32 tensor cores for the fp32 matmuls and convolutions left (autocast's fp32 islands, fp32 runs) and
    cuDNN's algorithm search (every step has the same shapes, so the one-off search pays from the second step).
    Nothing changes on other devices. Returns the settings now in force."""
    if device.type == "cuda":
        set_tf32(True)
        torch.backends.cudnn.benchmark = True
    return math_settings()
