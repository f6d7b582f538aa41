"""``python -m training localisation ...``, ``localisation-synthetic ...`` and ``table2 RUN_DIR...``.

``training/cli.py`` calls :func:`add_subcommands`; each command's handler takes the parsed arguments and returns the
exit status (errors as ``ValueError`` / ``DataError`` are printed by the caller).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from training.data.nih import SPLIT_MODES
from training.localisation import table2
from training.localisation.detector import BACKBONES
from training.localisation.metric import CRITERIA
from training.localisation.protocols import PROTOCOLS


def _steps(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated step numbers, got {text!r}") from None
    if not steps or min(steps) < 1:
        raise argparse.ArgumentTypeError(f"expected positive step numbers, got {text!r}")
    return steps


def _localisation(args: argparse.Namespace) -> int:
    import torch

    from training.localisation.experiment import LocalisationConfig, run_experiment

    if args.threads:
        torch.set_num_threads(args.threads)
    config = LocalisationConfig(
        data=args.data, out=args.out, protocol=args.protocol, synthetic=args.synthetic,
        synthetic_source=args.synthetic_source, synthetic_count=args.synthetic_count, steps=args.steps,
        eval_every=args.eval_every, report_steps=args.report_steps, window_half_width=args.window,
        backbone=args.backbone, backbone_weights=args.backbone_weights, image_size=args.image_size,
        batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr, criterion=args.criterion,
        threshold=args.threshold, score_threshold=args.score_threshold, eval_images=args.eval_images,
        split_by=args.split_by, split_seed=args.split_seed, test_fraction=args.test_fraction, seed=args.seed,
        device=args.device, progress=not args.no_progress,
    )
    table = run_experiment(config, resume=args.resume)
    print(table2.markdown(table), end="")
    print(f"run written to {args.out}")
    return 0


def _synthetic(args: argparse.Namespace) -> int:
    from training.localisation.synthetic import make_synthetic_set

    provenance = make_synthetic_set(
        Path(args.data), Path(args.generator), Path(args.out), count=args.count, seed=args.seed,
        split_seed=args.split_seed, test_fraction=args.test_fraction, split_by=args.split_by, device=args.device,
        batch_size=args.batch_size, progress=not args.no_progress,
    )
    print(f"{provenance['count']} {provenance['source']} images ({provenance['distinct_boxes']} distinct training "
          f"boxes) written to {args.out}")
    return 0


def _table2(args: argparse.Namespace) -> int:
    runs = [table2.load_run(Path(d)) for d in args.runs]
    if args.out:
        table = table2.write_report(runs, Path(args.out))
        print(table2.markdown(table), end="")
        print(f"table2.csv, table2.md and curve.png written to {args.out}")
    else:
        print(table2.markdown(table2.build_table(runs)), end="")
    return 0


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "localisation",
        help="train Faster R-CNN under one protocol and report CL as in the paper's Table 2",
        description="Train a Faster R-CNN on the training split (plus synthetic images for the ori+pix2pix "
        "protocols) and evaluate correct localisation on the test split every --eval-every steps.",
    )
    run.add_argument("--data", required=True, help="NIH-layout folder: Data_Entry, BBox_List, images/")
    run.add_argument("--protocol", choices=list(PROTOCOLS), default="ori")
    run.add_argument("--synthetic", help="batch .zip or folder with manifest.csv (needed by ori+pix2pix[-n])")
    run.add_argument("--synthetic-source", help="manifest source to take (default: Pix2Pix or Pix2Pix-N by protocol)")
    run.add_argument("--synthetic-count", type=int, default=688, help="synthetic images added (paper: 688)")
    run.add_argument("--out", required=True, help="run directory (refused if it holds a run, unless --resume)")
    run.add_argument("--steps", type=int, default=table2.DEFAULT_STEPS,
                     help=f"training steps (default {table2.DEFAULT_STEPS}: the last reported step plus its half "
                     "window, so every window is complete)")
    run.add_argument("--eval-every", type=int, default=100)
    run.add_argument("--report-steps", type=_steps, default=table2.DEFAULT_REPORT_STEPS,
                     help="comma-separated steps reported in Table 2 (default 5000,10000,15000)")
    run.add_argument("--window", type=int, default=table2.DEFAULT_HALF_WIDTH,
                     help="half width of the best-in-window selection around each reported step (default 500)")
    run.add_argument("--backbone", choices=BACKBONES, default="resnet50_fpn")
    run.add_argument("--backbone-weights", help="user-supplied backbone weights file (nothing is downloaded)")
    run.add_argument("--image-size", type=int, default=256)
    run.add_argument("--batch-size", type=int, default=2)
    run.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd", help="sgd: momentum 0.9 (default)")
    run.add_argument("--lr", type=float, default=3e-4)
    run.add_argument("--criterion", choices=CRITERIA, default="iou", help="overlap for CL: iou, or iobb (Wang et al.)")
    run.add_argument("--threshold", type=float, default=0.1, help="overlap threshold T (default 0.1)")
    run.add_argument("--score-threshold", type=float, default=0.5, help="predictions scored for CL (default >= 0.5)")
    run.add_argument("--eval-images", type=int, help="evaluate on the first N test images only")
    run.add_argument("--split-by", choices=SPLIT_MODES, default="annotation")
    run.add_argument("--split-seed", type=int, default=0)
    run.add_argument("--test-fraction", type=float, default=0.3)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    run.add_argument("--threads", type=int, help="torch CPU threads")
    run.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.set_defaults(handler=_localisation)

    synthetic = subparsers.add_parser(
        "localisation-synthetic",
        help="make the synthetic training images of ori+pix2pix[-n] from a Pix2Pix or Pix2Pix-N checkpoint",
    )
    synthetic.add_argument("--data", required=True, help="the same NIH-layout folder the experiment uses")
    synthetic.add_argument("--generator", required=True, help="pix2pix or pix2pix-n checkpoint")
    synthetic.add_argument("--out", required=True, help="new folder for manifest.csv, PNGs and provenance.json")
    synthetic.add_argument("--count", type=int, default=688, help="images to make (paper: 688)")
    synthetic.add_argument("--seed", type=int, default=0, help="order in which training boxes are used")
    synthetic.add_argument("--split-by", choices=SPLIT_MODES, default="annotation")
    synthetic.add_argument("--split-seed", type=int, default=0)
    synthetic.add_argument("--test-fraction", type=float, default=0.3)
    synthetic.add_argument("--device", default="cpu", help="cpu or cuda")
    synthetic.add_argument("--batch-size", type=int, default=8)
    synthetic.add_argument("--no-progress", action="store_true")
    synthetic.set_defaults(handler=_synthetic)

    table = subparsers.add_parser("table2", help="assemble Table 2 from several localisation runs")
    table.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories, one per protocol")
    table.add_argument("--out", help="folder for table2.csv, table2.md and curve.png (else Markdown to stdout)")
    table.set_defaults(handler=_table2)
