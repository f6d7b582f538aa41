"""``python -m generation verification-set ...`` and ``python -m generation plan ...``: the command line over
:func:`build_verification_set` and :func:`generation.plan.make_plan`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import INFERENCE_MODES
from .errors import GenerationError
from .pipeline import DEFAULT_CROP_MARGIN
from .selection import DEFAULT_AREA_TOLERANCE, PAIRINGS


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
    build.add_argument("--pairing", choices=PAIRINGS, default="disjoint",
                       help="disjoint: distinct origins per Pix2Pix generator (default); matched: the same boxes")
    build.add_argument("--area-tolerance", type=float, default=DEFAULT_AREA_TOLERANCE,
                       help="a Pix2Pix pair's box areas lie within this fraction of each other (default "
                       f"{DEFAULT_AREA_TOLERANCE})")
    build.add_argument("--inference", choices=INFERENCE_MODES, default="deterministic",
                       help="deterministic: eval mode (default); stochastic: dropout and batch statistics on, as "
                       "pix2pix's test script runs")
    build.add_argument("--force", action="store_true", help="replace --out if it exists")
    build.add_argument("--crop-margin", type=float, default=DEFAULT_CROP_MARGIN,
                       help="fraction cut from each side at 256 px before the 224 px resize "
                       f"(default {DEFAULT_CROP_MARGIN})")
    build.add_argument("--device", default="auto",
                       help="auto (default: the GPU when one is visible, else the CPU, said in the log), cpu, cuda "
                       "or cuda:N")
    build.add_argument("--batch-size", type=int, default=8, help="images per generator forward pass")
    build.add_argument("--json", action="store_true", help="print the summary as JSON")

    plan = commands.add_parser("plan", help="print the per-cell plan of the verification set (only the CSV files)")
    plan.add_argument("--data", required=True, type=Path, help="folder with Data_Entry_2017*.csv[.gz] and "
                      "BBox_List_2017.csv (images are not needed)")
    plan.add_argument("--per-cell", type=int, default=25)
    plan.add_argument("--pairing", choices=PAIRINGS, default="disjoint")
    plan.add_argument("--seed", type=int, default=0)
    plan.add_argument("--allow-reuse", action="store_true")
    plan.add_argument("--crop-margin", type=float, default=DEFAULT_CROP_MARGIN)
    plan.add_argument("--checkpoints", help="pix2pix=PATH,pix2pix-n=PATH,stargan=PATH: take the generators' "
                      "training images from these (default: the trainer's default split of --split-seed)")
    plan.add_argument("--split-seed", type=int, default=0, help="the generators' training seed (default 0)")
    plan.add_argument("--test-fraction", type=float, default=0.3)
    plan.add_argument("--split-by", choices=("annotation", "patient"), default="annotation")
    plan.add_argument("--healthy-pool", type=int, default=2000, help="healthy images Pix2Pix-N/StarGAN train on")
    plan.add_argument("--area-tolerance", type=float, default=DEFAULT_AREA_TOLERANCE,
                      help="a Pix2Pix pair's box areas lie within this fraction of each other (default "
                      f"{DEFAULT_AREA_TOLERANCE}: larger <= 1.25 x smaller)")
    plan.add_argument("--stargan-data", choices=("images", "boxes"), default="images",
                      help="without --checkpoints: StarGAN's training set as the trainer builds it (images: every "
                      "image-level labelled image, the default; boxes: the older box-only mode)")
    plan.add_argument("--stargan-holdout", type=float, default=0.1)
    plan.add_argument("--json", action="store_true", help="print the table as JSON")
    return parser


def _plan(args: argparse.Namespace) -> int:
    from .plan import PlanSettings, make_plan_with_notes, markdown_table, patient_overlap

    try:
        if args.crop_margin < 0 or args.crop_margin >= 0.25:
            raise GenerationError(f"--crop-margin must be in [0, 0.25), got {args.crop_margin}")
        checkpoints = None
        if args.checkpoints:
            from .generators import parse_checkpoint_argument

            checkpoints = parse_checkpoint_argument(args.checkpoints)
        settings = PlanSettings(data_dir=args.data, per_cell=args.per_cell, seed=args.seed, pairing=args.pairing,
                                allow_reuse=args.allow_reuse, crop_margin=args.crop_margin,
                                split_seed=args.split_seed, test_fraction=args.test_fraction,
                                split_by=args.split_by, healthy_pool=args.healthy_pool, checkpoints=checkpoints,
                                area_tolerance=args.area_tolerance, stargan_data=args.stargan_data,
                                stargan_holdout=args.stargan_holdout)
        plan, rows, notes = make_plan_with_notes(settings)
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    overlap = patient_overlap(plan)
    if args.json:
        print(json.dumps({"per_cell": args.per_cell, "pairing": args.pairing, "seed": args.seed,
                          "area_tolerance": args.area_tolerance, "cells": rows, "patients": overlap,
                          "notes": notes}, indent=1))
    else:
        print(f"plan: {args.per_cell} per cell, {args.pairing} pairing, seed {args.seed}, crop margin "
              f"{args.crop_margin:g}, box areas of a Pix2Pix pair within {args.area_tolerance:.0%}; seen/unseen = "
              "origins the source's generator did / did not train on")
        print(markdown_table(rows), end="")
        print(f"patients per source: {overlap['patients_per_source']}; under two sources: "
              f"{overlap['patients_under_two_sources']} ({overlap['real_and_generator']} of them Real and a "
              "generator)")
        for note in notes:
            print(f"note: {note['finding']} / {note['source']}: {note['constraint']}: {note['found']} of "
                  f"{note['needed']} found, filled with {note['filled_with']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "plan":
        return _plan(args)
    from tqdm import tqdm

    from .generators import parse_checkpoint_argument
    from .verification import VerificationSetConfig, build_verification_set

    try:
        config = VerificationSetConfig(
            data_dir=args.data, checkpoints=parse_checkpoint_argument(args.checkpoints), out=args.out,
            per_cell=args.per_cell, seed=args.seed, allow_reuse=args.allow_reuse, force=args.force,
            crop_margin=args.crop_margin, device=args.device, batch_size=args.batch_size, pairing=args.pairing,
            area_tolerance=args.area_tolerance,
            inference=args.inference)
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
