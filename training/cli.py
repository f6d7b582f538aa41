"""``python -m training ...``: index, make-phantom, pix2pix, pix2pix-n, stargan (and the localisation commands)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from pathlib import Path

from training.data.nih import SPLIT_MODES, DataError, NIHIndex


def _index(args: argparse.Namespace) -> int:
    index = NIHIndex.load(Path(args.data), skip_bad=args.skip_bad)
    summary = index.summary(seed=args.seed, test_fraction=args.test_fraction, by=args.split_by)
    from training.data.stargan_data import summary as stargan_summary

    summary["stargan_training_set"] = stargan_summary(index, seed=args.seed, holdout=args.stargan_holdout)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    split = summary["split"]
    print(f"NIH index of {summary['data_dir']}")
    print(f"  boxes: {summary['boxes']} over {summary['images']} images "
          f"(six findings; dropped {summary['dropped_findings']})")
    for finding, count in summary["per_finding"].items():
        print(f"    {finding:<13} {count}")
    print(f"  split by {split['by']} (seed {split['seed']}, test fraction {split['test_fraction']}): "
          f"train {split['train']} annotations / {split['train_images']} images, "
          f"test {split['test']} annotations / {split['test_images']} images")
    print(f"  healthy pool (No Finding images): {summary['healthy_pool']}")
    print(f"  patients: {summary['patients']}; views: {summary['views']}")
    stargan = summary["stargan_training_set"]
    print(f"  StarGAN training set (image-level labels, {stargan['held_out_patients']} patients held out): "
          f"{stargan['images']} images, {stargan['multi_label_images']} multi-label")
    for label, count in stargan["per_label"].items():
        print(f"    {label:<13} {count}")
    if summary["skipped"]:
        print(f"  skipped bad rows: {summary['skipped']}")
    return 0


def _make_phantom(args: argparse.Namespace) -> int:
    from training.data.phantom import make_phantom

    summary = make_phantom(Path(args.out), args.disease, args.healthy, size=args.size, seed=args.seed,
                           labelled=args.labelled)
    print(json.dumps(summary))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)

    index = subparsers.add_parser("index", help="print the NIH index's counts (needs only the two CSV files)")
    index.add_argument("--data", required=True, help="folder with Data_Entry_2017*.csv[.gz] and BBox_List_2017.csv")
    index.add_argument("--json", action="store_true", help="print JSON instead of text")
    index.add_argument("--seed", type=int, default=0)
    index.add_argument("--test-fraction", type=float, default=0.3)
    index.add_argument("--split-by", choices=SPLIT_MODES, default="annotation")
    index.add_argument("--skip-bad", action="store_true", help="skip bad rows (counted) instead of failing")
    index.add_argument("--stargan-holdout", type=float, default=0.1,
                       help="fraction of patients StarGAN never trains on (default 0.1)")
    index.set_defaults(handler=_index)

    phantom = subparsers.add_parser("make-phantom", help="write a synthetic dataset in NIH's layout")
    phantom.add_argument("--out", required=True)
    phantom.add_argument("--disease", type=int, required=True, help="number of box-annotated images")
    phantom.add_argument("--healthy", type=int, required=True, help="number of No Finding images")
    phantom.add_argument("--labelled", type=int, default=0,
                         help="images with image-level finding labels but no box (most of NIH's labelled images; "
                         "StarGAN trains on them)")
    phantom.add_argument("--size", type=int, default=1024, help="image side in pixels (NIH: 1024)")
    phantom.add_argument("--seed", type=int, default=0)
    phantom.set_defaults(handler=_make_phantom)

    _add_training_commands(subparsers)
    if importlib.util.find_spec("training.localisation.cli") is not None:
        from training.localisation.cli import add_subcommands

        add_subcommands(subparsers)
    return parser


def _add_training_commands(subparsers: argparse._SubParsersAction) -> None:
    try:
        from training.train_cli import add_training_subcommands
    except ImportError:
        return
    add_training_subcommands(subparsers)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
