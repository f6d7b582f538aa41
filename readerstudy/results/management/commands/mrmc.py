"""python manage.py mrmc FILE.imrmc [--covariance jackknife|delong] [--alpha 0.05] [--json]: the MRMC analysis of
any iMRMC file (empirical AUC, Obuchowski-Rockette with Hillis df: RRRC, FRRC, RRFC)."""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.mrmc.analyse import COVARIANCES, analyse_imrmc, analysis_document, analysis_text
from analysis.mrmc.imrmc import ImrmcError, read_imrmc


class Command(BaseCommand):
    help = ("Analyse an iMRMC file: each reader's empirical AUC per modality, the OR variance components and the "
            "RRRC, FRRC and RRFC comparisons of the modalities (Obuchowski-Rockette with Hillis's df).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="an iMRMC input file (e.g. the study's iMRMC export)")
        parser.add_argument("--covariance", default="jackknife", choices=COVARIANCES,
                            help="covariance of the AUCs over cases: jackknife (default, as OR-DBM MRMC) or delong")
        parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
        parser.add_argument("--pairwise", default="separate", choices=("separate", "global"),
                            help="pairwise differences with each pair analysed alone (default, as the results page: "
                                 "valid when modalities differ in variance) or with the error term of all "
                                 "modalities (as the OR-DBM MRMC software; liberal in the study's split design)")
        parser.add_argument("--json", action="store_true", help="print one JSON document with every figure")

    def handle(self, *args, file: str, covariance: str, alpha: float, pairwise: str, json: bool, **options) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        if not 0 < alpha < 1:
            raise CommandError(f"--alpha must be between 0 and 1, not {alpha}.")
        try:
            data = read_imrmc(path)
        except ImrmcError as error:
            raise CommandError(f"{file}: {error}") from None
        result = analyse_imrmc(data, covariance=covariance, alpha=alpha, pairwise=pairwise)
        if json:
            self.stdout.write(_dumps(analysis_document(data, result, covariance)))
        else:
            self.stdout.write(analysis_text(data, result, covariance))


def _dumps(document: dict) -> str:
    return json.dumps(document, indent=2, allow_nan=False)
