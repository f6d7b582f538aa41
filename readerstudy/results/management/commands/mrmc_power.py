"""python manage.py mrmc_power: power and sample size for a planned MRMC study (Hillis, Obuchowski & Berbaum 2011).

    python manage.py mrmc_power PILOT.imrmc --effect 0.05 [--readers 5 --cases 100] [--json]
    python manage.py mrmc_power --var-tr 0.0002 --var-error 0.0008 --cov1 0.00035 --cov2 0.00034 --cov3 0.00024 \\
        --pilot-cases 114 --effect 0.05
"""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.mrmc.analyse import analyse_imrmc
from analysis.mrmc.imrmc import ImrmcError, read_imrmc
from analysis.mrmc.or_analysis import json_ready
from analysis.mrmc.power import ANALYSES, PilotComponents, power, readers_needed, sample_size_table

COMPONENTS = ("var_tr", "var_error", "cov1", "cov2", "cov3")
DEFAULT_READERS = [3, 4, 5, 6, 8, 10, 12, 15, 20]


class Command(BaseCommand):
    help = ("Power for J readers x K cases, and the readers and cases needed for a target power, from OR variance "
            "components (read from a pilot iMRMC file, or given as numbers) and an effect size.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", help="a pilot iMRMC file (its AUC components are used)")
        for name in COMPONENTS:
            parser.add_argument(f"--{name.replace('_', '-')}", type=float, help=f"OR component {name} (no file)")
        parser.add_argument("--pilot-cases", type=int, help="cases the components were estimated on (no file)")
        parser.add_argument("--covariance", default="jackknife", choices=("jackknife", "delong"))
        parser.add_argument("--effect", type=float, required=True,
                            help="effect size: the difference of the two modalities' reader-averaged figures")
        parser.add_argument("--readers", type=int, help="readers in the planned study")
        parser.add_argument("--cases", type=int, help="cases in the planned study")
        parser.add_argument("--alpha", type=float, default=0.05)
        parser.add_argument("--target", type=float, default=0.8, help="power wanted (default 0.8)")
        parser.add_argument("--analysis", default="RRRC", choices=ANALYSES)
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        pilot = self._pilot(options)
        effect, alpha, target = options["effect"], options["alpha"], options["target"]
        if effect == 0:
            raise CommandError("--effect must not be 0: there is no power to detect no difference.")
        if not 0 < alpha < 1 or not 0 < target < 1:
            raise CommandError("--alpha and --target must be between 0 and 1.")
        readers, cases, analysis = options["readers"], options["cases"], options["analysis"]
        if (readers is not None and readers < 2) or (cases is not None and cases < 2):
            raise CommandError("--readers and --cases must be at least 2.")
        try:
            pilot.check()
        except ValueError as error:
            raise CommandError(str(error)) from None
        document: dict = {"pilot": pilot.__dict__, "effect_size": effect, "alpha": alpha, "target": target,
                          "analysis": analysis}
        if readers is not None and cases is not None:
            document["power"] = power(pilot, readers=readers, cases=cases, effect_size=effect, alpha=alpha,
                                      analysis=analysis).__dict__
        reader_counts = sorted({*DEFAULT_READERS, *([readers] if readers else [])})
        document["cases_needed"] = sample_size_table(pilot, effect_size=effect, readers=reader_counts, target=target,
                                                     alpha=alpha, analysis=analysis)
        if cases is not None:
            found = readers_needed(pilot, cases=cases, effect_size=effect, target=target, alpha=alpha,
                                   analysis=analysis)
            document["readers_needed"] = {"cases": cases, "readers": None if found is None else found.readers,
                                          "power": None if found is None else found.power}
        if options["json"]:
            self.stdout.write(json.dumps(json_ready(document), indent=2))
        else:
            self.stdout.write(_text(document))

    def _pilot(self, options) -> PilotComponents:
        given = {name: options[name] for name in COMPONENTS if options[name] is not None}
        if options["file"]:
            if given or options["pilot_cases"] is not None:
                raise CommandError("Give either a pilot iMRMC file or the components as numbers, not both.")
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
            try:
                data = read_imrmc(path)
            except ImrmcError as error:
                raise CommandError(f"{path}: {error}") from None
            result = analyse_imrmc(data, covariance=options["covariance"])
            return PilotComponents.from_components(result.components, len(data.cases))
        missing = [f"--{name.replace('_', '-')}" for name in COMPONENTS if name not in given]
        if options["pilot_cases"] is None:
            missing.append("--pilot-cases")
        if missing:
            raise CommandError("Without a pilot iMRMC file, give every component: missing " + ", ".join(missing) + ".")
        return PilotComponents(n_cases=options["pilot_cases"], **given)


def _text(document: dict) -> str:
    pilot = document["pilot"]
    lines = [f"Power ({document['analysis']}, alpha {document['alpha']:g}) for an effect of "
             f"{document['effect_size']:g}, from OR components on {pilot['n_cases']} pilot cases:",
             "  " + ", ".join(f"{name} = {pilot[name]:.8f}" for name in COMPONENTS), ""]
    if "power" in document:
        result = document["power"]
        lines += [f"{result['readers']} readers x {result['cases']} cases: power {result['power']:.3f}", ""]
    if "readers_needed" in document:
        found = document["readers_needed"]
        lines += [f"Readers needed with {found['cases']} cases for {document['target']:.0%} power: "
                  + ("not reachable with up to 200 readers" if found["readers"] is None
                     else f"{found['readers']} (power {found['power']:.3f})"), ""]
    lines.append(f"Cases needed for {document['target']:.0%} power:")
    lines.append(f"{'readers':>8} {'cases':>8} {'power':>7}")
    for row in document["cases_needed"]:
        if row["cases"] is None:
            lines.append(f"{row['readers']:>8} {'-':>8} {'':>7}  (not reachable: reader variability sets a ceiling)")
        else:
            lines.append(f"{row['readers']:>8} {row['cases']:>8} {row['power']:>7.3f}")
    return "\n".join(lines) + "\n"
