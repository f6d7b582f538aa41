"""``python -m generation verification-set ...``: the command line over :func:`build_verification_set`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import GenerationError
from .generators import parse_checkpoint_argument
from .pipeline import DEFAULT_CROP_MARGIN


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("verification-set", help="build the 6 findings x 4 sources verification set as a zip")
    build.add_argument("--data", required=True, type=Path, help="NIH-layout data folder (images/ and both CSV files)")
    build.add_argument("--checkpoints", required=True,
                       help="pix2pix=PATH,pix2pix-n=PATH,stargan=PATH (training checkpoints)")
    build.add_argument("--out", required=True, type=Path, help="the batch zip to write")
    build.add_argument("--per-cell", type=int, default=25, help="images per finding and source (default 25: 600)")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--allow-reuse", action="store_true",
                       help="when the data runs short, let a source image serve in a second cell (recorded)")
    build.add_argument("--force", action="store_true", help="replace --out if it exists")
    build.add_argument("--crop-margin", type=float, default=DEFAULT_CROP_MARGIN,
                       help="fraction cut from each side at 256 px before the 224 px resize "
                       f"(default {DEFAULT_CROP_MARGIN})")
    build.add_argument("--device", default="auto",
                       help="auto (default: the GPU when one is visible, else the CPU, said in the log), cpu, cuda "
                       "or cuda:N")
    build.add_argument("--batch-size", type=int, default=8, help="images per generator forward pass")
    build.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tqdm import tqdm

    from .verification import VerificationSetConfig, build_verification_set

    try:
        config = VerificationSetConfig(
            data_dir=args.data, checkpoints=parse_checkpoint_argument(args.checkpoints), out=args.out,
            per_cell=args.per_cell, seed=args.seed, allow_reuse=args.allow_reuse, force=args.force,
            crop_margin=args.crop_margin, device=args.device, batch_size=args.batch_size)
        with tqdm(total=None, desc="verification set", unit="img", disable=None) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = build_verification_set(config, progress=progress)
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = {"out": str(result.out), "images": result.images, "audit": result.provenance["audit"],
               "reused_images": result.provenance["reused_images"]}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        audit = summary["audit"]
        print(f"wrote {result.images} images to {result.out}; pathology boxes identical in "
              f"{audit['box_identical']} of {audit['box_checked']} Pix2Pix/Pix2Pix-N images")
    return 0
