"""The generator training commands: ``pix2pix``, ``pix2pix-n`` and ``stargan``."""

from __future__ import annotations

import argparse
import json

from training.config import GENERATOR_KINDS, PROFILES, make_config
from training.data.nih import SPLIT_MODES
from training.precision import PRECISION_CHOICES

STARGAN_OPTIONS = ("stargan_data", "stargan_holdout", "lr_decay_iters", "lr_update_every")
HELP = {
    "pix2pix": "train Pix2Pix on the disease pairs (x = y*m -> y)",
    "pix2pix-n": "train Pix2Pix-N: the disease pairs plus the healthy pool's pairs",
    "stargan": "train the StarGAN baseline (healthy + six finding domains, unpaired)",
}


def add_training_subcommands(subparsers: argparse._SubParsersAction) -> None:
    for kind in GENERATOR_KINDS:
        parser = subparsers.add_parser(kind, help=HELP[kind], description=HELP[kind])
        parser.add_argument("--data", required=True, help="NIH folder: images/ (or images_*/images/) and both CSVs")
        parser.add_argument("--out", required=True, help="run folder (config, losses, samples, checkpoints)")
        parser.add_argument("--profile", choices=tuple(PROFILES), default="paper",
                            help="paper: the published settings; quick: a tiny CPU run (explicit flags override)")
        parser.add_argument("--iters", type=int)
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--image-size", type=int)
        parser.add_argument("--seed", type=int)
        parser.add_argument("--device", choices=("auto", "cpu", "cuda"))
        parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.pt")
        parser.add_argument("--healthy-pool", type=int, help="healthy images for pix2pix-n / stargan (2000)")
        parser.add_argument("--split-by", choices=SPLIT_MODES, help="annotation (the paper's) or patient")
        parser.add_argument("--test-fraction", type=float)
        parser.add_argument("--log-every", type=int)
        parser.add_argument("--sample-every", type=int)
        parser.add_argument("--checkpoint-every", type=int)
        parser.add_argument("--no-augment", dest="augment", action="store_const", const=False)
        parser.add_argument("--precision", choices=PRECISION_CHOICES,
                            help="auto (default): bf16 where the CPU/GPU computes it natively, fp16 with loss "
                                 "scaling on GPUs without bf16, else fp32; an explicit one the device cannot run "
                                 "is refused (docs/training.md)")
        parser.add_argument("--no-amp", dest="amp", action="store_const", const=False, help="same as --precision fp32")
        parser.add_argument("--dropout", type=float, help="Pix2Pix decoder dropout (0.5)")
        parser.add_argument("--norm", choices=("batch", "instance"),
                            help="Pix2Pix normalisation: batch (the paper's, default) or instance")
        parser.add_argument("--loader-workers", type=int,
                            help="processes assembling batches (default 2; 0: on the training thread)")
        parser.add_argument("--skip-bad", action="store_const", const=True,
                            help="skip unreadable images and bad rows (counted in the log) instead of failing")
        if kind == "stargan":
            parser.add_argument("--stargan-data", choices=("images", "boxes"),
                                help="images (default): every image with one of the six findings or No Finding in "
                                "Data_Entry, its labels as the attribute vector (the authors' way); boxes: the older "
                                "box-only mode (box-list training split + healthy pool), named so in the checkpoint")
            parser.add_argument("--stargan-holdout", type=float,
                                help="fraction of patients StarGAN never trains on (default 0.1): its test side")
            parser.add_argument("--lr-decay-iters", type=int,
                                help="linear learning-rate decay to 0 over the last N steps (default: half the run)")
            parser.add_argument("--lr-update-every", type=int, help="steps between learning-rate updates (1000)")
        parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
        parser.set_defaults(handler=_train, kind=kind)


def _train(args: argparse.Namespace) -> int:
    from training.runner import train

    config = make_config(
        args.kind, args.data, args.out, profile=args.profile, iters=args.iters, batch_size=args.batch_size,
        image_size=args.image_size, seed=args.seed, device=args.device, healthy_pool=args.healthy_pool,
        split_by=args.split_by, test_fraction=args.test_fraction, log_every=args.log_every,
        sample_every=args.sample_every, checkpoint_every=args.checkpoint_every, augment=args.augment, amp=args.amp,
        precision=args.precision,
        skip_bad=args.skip_bad, norm=args.norm, loader_workers=args.loader_workers,
        dropout=args.dropout, **{key: getattr(args, key, None) for key in STARGAN_OPTIONS},
    )
    result = train(config, resume=args.resume, progress=not args.no_progress)
    if not result.is_main:  # under torchrun, rank 0 alone reports
        return 0
    last = result.history[-1] if result.history else {}
    print(json.dumps({"out": str(result.out), "step": result.step, "checkpoint": str(result.checkpoint),
                      "last_losses": last, "skipped": result.skipped}))
    return 0
