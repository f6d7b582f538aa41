"""``manage.py demo``: the whole chain on the embedded defaults, then the logins to use.

phantom data -> Pix2Pix, Pix2Pix-N and StarGAN ("quick" profile) -> the 600-image verification set -> an open study
(``names.DEMO_SLUG``) with a demo admin and two demo readers. ``--profile paper --data NIH_DIR --device cuda`` is the
same chain on the real data with the paper's settings (see docs/generation.md).
"""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from readerstudy.demo.chain import DemoConfig, describe, run_demo
from readerstudy.demo.names import DEMO_LOGINS


class Command(BaseCommand):
    help = "Run the whole chain (data, training, generation, import) into an open demo study and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--profile", choices=["quick", "paper"], default="quick")
        parser.add_argument("--data", type=Path, default=None,
                            help="NIH ChestX-ray14 folder (images/ and both CSV files); default: a phantom set")
        parser.add_argument("--workdir", type=Path, default=Path(settings.VAR_DIR) / "demo",
                            help="where data, runs and the zip are kept (default var/demo)")
        parser.add_argument("--per-cell", type=int, default=25)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
        parser.add_argument("--fresh", action="store_true", help="rebuild every stage instead of reusing it")
        parser.add_argument("--iters", type=int, default=None, help="training iterations (default: the profile's)")
        parser.add_argument("--image-size", type=int, default=None, help="training size (default: the profile's)")
        parser.add_argument("--phantom-disease", type=int, default=600, help="box-annotated phantom images")
        parser.add_argument("--phantom-healthy", type=int, default=400, help="healthy phantom images")
        parser.add_argument("--phantom-labelled", type=int, default=600,
                            help="phantom images with image-level finding labels and no box (StarGAN trains on them)")
        parser.add_argument("--threads", type=int, default=1,
                            help="torch CPU threads (default 1: the quick profile's small networks gain little from "
                                 "a second thread and lose up to 5x when another process holds a core)")
        parser.add_argument("--url", default="http://127.0.0.1:8000/",
                            help="the address printed at the end (make demo passes its HOST and PORT)")

    def handle(self, *args, profile, data, workdir, per_cell, seed, device, fresh, iters, image_size,
               phantom_disease, phantom_healthy, phantom_labelled, threads, url, **options):
        if profile == "paper" and data is None:
            raise CommandError("--profile paper needs --data: the real NIH ChestX-ray14 folder "
                               "(see docs/generation.md)")
        started = time.monotonic()
        import torch

        torch.set_num_threads(max(1, threads))
        call_command("migrate", verbosity=0)
        config = DemoConfig(workdir=workdir, profile=profile, data_dir=data, per_cell=per_cell, seed=seed,
                            device=device, fresh=fresh, iters=iters, image_size=image_size,
                            phantom_disease=phantom_disease, phantom_healthy=phantom_healthy,
                            phantom_labelled=phantom_labelled)
        try:
            result = run_demo(config, DEMO_LOGINS, say=self.stdout.write)
        except Exception as error:
            from generation.errors import GenerationError

            if isinstance(error, GenerationError | ValueError):
                raise CommandError(str(error)) from None
            raise
        summary = describe(result)
        self.stdout.write(f"Demo study '{summary['study']}' is open with {summary['cases']} images "
                          f"(built in {time.monotonic() - started:.0f} s: "
                          + ", ".join(f"{k} {v} s" for k, v in summary["timings_s"].items()) + ").")
        self.stdout.write("Logins (username / password):")
        for username, password, is_staff in DEMO_LOGINS:
            self.stdout.write(f"  {username:8} / {password}{'   (study admin)' if is_staff else ''}")
        self.stdout.write(f"Open {url} and log in.")
