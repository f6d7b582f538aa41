"""One frozen dataclass per run, and the two profiles of the generator commands.

``paper``: the published settings (Isola et al. for Pix2Pix: 256x256, batch 1, ngf = ndf = 64, Adam 2e-4 / 0.5,
lambda_L1 = 100; Choi et al. for StarGAN: batch 16, conv_dim 64, 6 residual blocks, Adam 1e-4 / 0.5 / 0.999,
n_critic 5, lambda_gp 10, lambda_cls 1, lambda_rec 10, 200k iterations). ``quick``: the same code at 64x64 with narrow
networks and a few hundred iterations, for the CPU demo and smoke runs. Any explicit command-line value overrides
the profile.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

GENERATOR_KINDS = ("pix2pix", "pix2pix-n", "stargan")


@dataclass(frozen=True)
class TrainConfig:
    kind: str
    data: str
    out: str
    profile: str = "paper"
    iters: int = 100_000
    batch_size: int = 1
    image_size: int = 256
    seed: int = 0
    device: str = "auto"
    # data
    test_fraction: float = 0.3
    split_by: str = "annotation"
    healthy_pool: int = 2000
    augment: bool = True
    max_rotation_deg: float = 5.0
    max_crop_zoom: float = 1.12  # pix2pix's 286 -> 256 random crop
    skip_bad: bool = False
    # pix2pix
    ngf: int = 64
    ndf: int = 64
    dropout: float = 0.5
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_l1: float = 100.0
    norm: str = "batch"  # pix2pix's --norm: batch (the paper's) or instance
    # stargan
    stargan_data: str = "images"  # images: every image-level labelled image (the authors'); boxes: box-only (older)
    stargan_holdout: float = 0.1  # the patients StarGAN never trains on (its test side: StarGAN and Real origins)
    lr_decay_iters: int | None = None  # StarGAN: lr decays linearly to 0 over the last N steps (None: the last half)
    lr_update_every: int = 1000  # the official code's lr_update_step
    conv_dim: int = 64
    res_blocks: int = 6
    n_critic: int = 5
    lambda_gp: float = 10.0
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    # bookkeeping
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = 1000
    amp: bool = True  # kept for old configs and --no-amp (= --precision fp32); see training.precision
    precision: str = "auto"  # auto | fp32 | bf16 | fp16: what the step computes in (training.precision)
    loader_workers: int = 2  # processes assembling batches (0: on the training thread); batches do not depend on it

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


PROFILES: dict[str, dict[str, dict]] = {
    "paper": {
        "pix2pix": dict(iters=100_000, batch_size=1, image_size=256, ngf=64, ndf=64, sample_every=1000,
                        checkpoint_every=5000),
        "stargan": dict(iters=200_000, batch_size=16, image_size=256, conv_dim=64, res_blocks=6, lr=1e-4,
                        beta1=0.5, beta2=0.999, sample_every=1000, checkpoint_every=5000),
    },
    "quick": {
        "pix2pix": dict(iters=1100, batch_size=4, image_size=64, ngf=16, ndf=16, healthy_pool=200, sample_every=100,
                        checkpoint_every=100, log_every=5),
        "stargan": dict(iters=600, batch_size=4, image_size=64, conv_dim=16, res_blocks=2, lr=1e-4, n_critic=5,
                        healthy_pool=200, sample_every=100, checkpoint_every=100, log_every=5, lr_update_every=10),
    },
}


def make_config(kind: str, data: str, out: str, profile: str = "paper", **overrides) -> TrainConfig:
    """The profile's settings for ``kind``, then every override that is not None."""
    if kind not in GENERATOR_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {GENERATOR_KINDS}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {tuple(PROFILES)}")
    family = "stargan" if kind == "stargan" else "pix2pix"
    config = replace(TrainConfig(kind=kind, data=data, out=out, profile=profile), **PROFILES[profile][family])
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if not config.amp and overrides.get("precision") is None:  # --no-amp: the old spelling of --precision fp32
        config = replace(config, precision="fp32")
    _validate(config)
    return config


def _validate(config: TrainConfig) -> None:
    if config.iters < 1 or config.batch_size < 1:
        raise ValueError("--iters and --batch-size must be positive")
    size = config.image_size
    if size < 32 or size & (size - 1):
        raise ValueError(f"--image-size must be a power of two >= 32, got {size}")
    if config.norm not in ("batch", "instance"):
        raise ValueError(f"--norm must be batch or instance, got {config.norm!r}")
    if config.stargan_data not in ("images", "boxes"):
        raise ValueError(f"--stargan-data must be images or boxes, got {config.stargan_data!r}")
    if not 0.0 <= config.stargan_holdout < 1.0:
        raise ValueError(f"--stargan-holdout must lie in [0, 1), got {config.stargan_holdout}")
    if config.lr_decay_iters is not None and not 0 <= config.lr_decay_iters <= config.iters:
        raise ValueError(f"--lr-decay-iters must lie in [0, --iters], got {config.lr_decay_iters}")
    if config.lr_update_every < 1:
        raise ValueError(f"--lr-update-every must be positive, got {config.lr_update_every}")
    if config.loader_workers < 0:
        raise ValueError(f"--loader-workers must be 0 or more, got {config.loader_workers}")
    if config.precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ValueError(f"--precision must be auto, fp32, bf16 or fp16, got {config.precision!r}")
    if config.device not in ("auto", "cpu", "cuda") and not config.device.startswith("cuda:"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {config.device!r}")
