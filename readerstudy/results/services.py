"""The results as the views and commands need them: Table 1, the statistics report (with the MRMC analysis and its
summary in words) and a reader's own score; the whole set cached until the study's next vote."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

import numpy as np
from django.core.cache import cache

import analysis
from analysis import statistics
from analysis.memorisation import memorisation
from analysis.mrmc.or_analysis import json_ready
from analysis.mrmc.study import study_mrmc_from_votes
from analysis.planning import plan
from analysis.pooled import called_real_by_finding, pooled_accuracy
from analysis.statistics import ALL, study_statistics
from readerstudy.studies.models import Membership, Study

from . import selectors
from .analysis_plan import equivalence_report, plan_for
from .protocol_results import protocol_results
from .summary import answer_sentences, lead_comparisons, summary_sentences
from .table1 import Table1, assemble_table1

RESULTS_CACHE_SECONDS = 7 * 24 * 3600


def build_table1(study: Study) -> Table1:
    """Table 1 from the votes: 5 queries (findings, sources, readers, one grouped count, the excluded cases) whatever
    the study's size."""
    layout = selectors.study_layout(study)
    labels = layout.labels
    return assemble_table1(
        study=study.slug, readers=labels.readers, reader_ids=layout.reader_ids, findings=layout.finding_names,
        finding_ids=layout.finding_ids, sources=layout.source_names, source_ids=layout.source_ids,
        counts=selectors.table1_counts(study), excluded_cases=selectors.excluded_cases(study),
    )


def build_statistics(study: Study, layout: selectors.StudyLayout | None = None,
                     votes: statistics.Votes | None = None, excluded_cases: list[dict] | None = None) -> dict:
    """Every statistic beyond Table 1, led by the MRMC comparisons and their summary in words: 6 queries (the layout,
    the cases and the votes as arrays, the excluded cases) unless the caller has them, the rest is numpy."""
    if layout is None or votes is None:
        layout = selectors.study_layout(study)
        votes = selectors.vote_arrays(study, layout)
    labels = layout.labels
    report = {"study": study.slug, **study_statistics(votes, labels),
              "called_real_pooled": called_real_by_finding(votes, labels)}
    _pooled_intervals(report, votes, labels)
    analysis = study_mrmc_from_votes(votes, labels)
    mrmc = analysis.as_dict()
    comparisons = lead_comparisons(mrmc, [labels.sources[s] for s in labels.real_sources])
    n_cases = len(np.unique(votes.case))
    power = [entry for entry in (plan(analysis.called_real, n_cases, "called_real"), plan(analysis.auc, n_cases, "auc"))
             if entry is not None]
    equivalence = json_ready(equivalence_report(study, plan_for(study), mrmc))
    report["memorisation"] = json_ready(memorisation(votes, labels))
    answer = answer_sentences(report, comparisons, equivalence, draft=study.status == Study.Status.DRAFT)
    return {"study": study.slug, "answer": answer,
            "summary": summary_sentences(report, comparisons), "comparisons": comparisons,
            "mrmc": mrmc, "power": json_ready(power), "equivalence": equivalence, **report,
            "excluded_cases": selectors.excluded_cases(study) if excluded_cases is None else excluded_cases}


def _pooled_intervals(report: dict, votes, labels) -> None:
    """The pooled rows' intervals that count readers and cases (the votes are not independent): the called-real
    rates' from the MRMC analysis (``called_real_pooled``), the accuracies' from the reader-and-case bootstrap. Each
    pooled cell says which (``interval``); a cell without one keeps none rather than a Wilson interval."""
    rates = {(row["finding"], row["source"]): row for row in report["called_real_pooled"]}
    for cell in report["called_real"]:
        if cell["reader"] == statistics.POOLED:
            pooled = rates.get((cell["finding"], cell["source"]))
            cell.update(ci_low=pooled and pooled["ci_low"], ci_high=pooled and pooled["ci_high"],
                        interval=f"MRMC {pooled['analysis']}" if pooled else None)
    accuracy = pooled_accuracy(votes, labels)
    for cell in report["detection"]:
        if cell["reader"] == statistics.POOLED:
            _, low, high = accuracy.get((cell["finding"], cell["generator"]), (None, None, None))
            cell.update(accuracy_ci_low=low, accuracy_ci_high=high, interval="readers and cases resampled")


@dataclass(frozen=True)
class StudyResults:
    """What the results page, the statistics API, the chart and the reports show, computed together."""

    version: str
    table: Table1
    report: dict
    protocol: dict


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the code and templates the results are computed and shown with, so that a deploy that changes
    them never serves what an older version cached (a shared cache outlives the processes)."""
    package = Path(__file__).resolve().parent
    numerical = Path(analysis.__file__).resolve().parent  # the statistics themselves, outside this package
    templates = package.parent.parent / "templates" / "results"
    digest = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *numerical.rglob("*.py"), *templates.glob("*.html")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def results_version(study: Study) -> str:
    """A digest of the state the results depend on (``selectors.results_version``) and of the code: one query."""
    state = (code_fingerprint(), selectors.results_version(study))
    return hashlib.sha256(repr(state).encode()).hexdigest()[:32]


def study_results(study: Study) -> StudyResults:
    """The study's results, from the cache while no vote, reader, case or setting has changed since they were
    computed (one query to tell), else computed afresh and cached. The cache key is the state they depend on
    (``selectors.results_version``), so nothing ever has to invalidate it."""
    version = results_version(study)
    key = f"study-results:{version}"
    results = cache.get(key)
    if results is None:
        # the votes fetched once, as arrays, for Table 1 and the statistics (Table 1's grouped query took most of a
        # second at 180,000 votes)
        layout = selectors.study_layout(study)
        votes = selectors.vote_arrays(study, layout)
        excluded = selectors.excluded_cases(study)
        results = StudyResults(version=version, table=table1_from_votes(study, layout, votes, excluded),
                               report=build_statistics(study, layout, votes, excluded),
                               protocol=protocol_results(study))
        cache.set(key, results, RESULTS_CACHE_SECONDS)
        cache.set(f"study-chart:{version}", ChartResults(version=version, table=results.table,
                                                         called_real_pooled=results.report["called_real_pooled"]),
                  RESULTS_CACHE_SECONDS)  # the page's charts, requested next, need not compute their part again
    return results


@dataclass(frozen=True)
class ChartResults:
    """What the chart draws: Table 1's counts and the pooled panel's rates with their MRMC intervals."""

    version: str
    table: Table1
    called_real_pooled: list[dict]


def table1_from_votes(study: Study, layout: selectors.StudyLayout, votes: statistics.Votes,
                      excluded_cases: list[dict] | None = None) -> Table1:
    """Table 1 counted in numpy from the vote arrays (``selectors.vote_arrays``): the same table as
    ``build_table1``'s grouped query, without it (which took most of a second at 180,000 votes)."""
    total, real = statistics.count_cube(votes, layout.labels)  # (readers + pooled, findings + all, sources)
    as_table = lambda cube: cube[:-1].transpose(1, 2, 0).tolist()  # noqa: E731  [finding][source][reader]
    labels = layout.labels
    return Table1(study=study.slug, readers=labels.readers, sources=labels.sources, findings=labels.findings,
                  called_real=as_table(real), votes=as_table(total), excluded_cases=list(excluded_cases or []))


def chart_results(study: Study) -> ChartResults:
    """The chart's inputs alone, cached under the same version as ``study_results``: the votes as arrays (the layout,
    the cases, the votes: 5 queries), Table 1 counted from them and the pooled panel's MRMC analysis, without the
    rest of the statistics (bootstraps, agreement, ROC, ...), which a chart of hundreds of readers cannot wait for."""
    version = results_version(study)
    key = f"study-chart:{version}"
    results = cache.get(key)
    if results is None:
        layout = selectors.study_layout(study)
        votes = selectors.vote_arrays(study, layout)
        results = ChartResults(version=version, table=table1_from_votes(study, layout, votes),
                               called_real_pooled=called_real_by_finding(votes, layout.labels))
        cache.set(key, results, RESULTS_CACHE_SECONDS)
    return results


def build_own_score(membership: Membership) -> dict:
    """A reader's own tallies: how many they judged correctly, overall and per source (no other reader's data)."""
    study = membership.study
    layout = selectors.study_layout(study, memberships=Membership.objects.filter(pk=membership.pk))
    votes = selectors.vote_arrays(study, layout, votes=selectors.study_votes(study).filter(membership=membership))
    total, real = statistics.count_cube(votes, layout.labels)
    overall = next(cell for cell in statistics.detection(total, real, layout.labels)
                   if cell["reader"] == membership.pseudonym and cell["finding"] == ALL and cell["generator"] == ALL)
    by_source = [cell for cell in statistics.called_real_rates(total, real, layout.labels)
                 if cell["reader"] == membership.pseudonym and cell["finding"] == ALL]
    return {
        "study": study.slug,
        "reader": membership.pseudonym,
        "votes": len(votes),
        "correct": overall["tp"] + overall["tn"],
        "accuracy": overall["accuracy"],
        "sensitivity": overall["sensitivity"],
        "specificity": overall["specificity"],
        "by_source": [
            {key: cell[key] for key in ("source", "n", "called_real", "rate", "correct", "accuracy")}
            for cell in by_source
        ],
    }


def _by_reader(cells: list[dict], readers: list[str]) -> list[dict]:
    """Each reader's cells, grouped in one pass (a filter per reader was quadratic: 3.5 s at 300 readers)."""
    grouped: dict[str, list[dict]] = {reader: [] for reader in readers}
    for cell in cells:
        grouped.setdefault(cell["reader"], []).append(cell)
    return [{"reader": reader, "cells": grouped[reader]} for reader in readers]


def _pick(cells: list[dict], **wanted) -> list[dict]:
    """The cells whose fields equal ``wanted`` (one itemgetter per call: a generator per cell took 0.7 s at 300
    readers)."""
    get = itemgetter(*wanted)
    values = tuple(wanted.values()) if len(wanted) > 1 else next(iter(wanted.values()))
    return [cell for cell in cells if get(cell) == values]


def _pooled_rate_rows(report: dict) -> list[dict]:
    """Per finding (and All), each source's reader-averaged called-real rate with the MRMC interval (the counts' n
    and small-sample flag beside it)."""
    intervals = {(row["finding"], row["source"]): row for row in report["called_real_pooled"]}
    rows = []
    for finding in [*report["findings"], ALL]:
        cells = []
        for cell in _pick(report["called_real"], reader=statistics.POOLED, finding=finding):
            pooled = intervals.get((finding, cell["source"]))
            cells.append({"n": cell["n"], "small_sample": cell["small_sample"],
                          "rate": pooled["rate"] if pooled else cell["rate"],
                          "ci_low": pooled["ci_low"] if pooled else None,
                          "ci_high": pooled["ci_high"] if pooled else None})
        rows.append({"finding": finding, "cells": cells})
    return rows


def _other_analyses(mrmc: dict, real_sources: set[str]) -> list[dict]:
    """Every analysis of both figures (RRRC, FRRC, RRFC) for the page's details, each with what it generalises to;
    a difference with the real images reads generator minus real, as everywhere else."""
    out = []
    for figure, title in (("called_real", "Called-real rate"), ("auc", "AUC")):
        result = mrmc.get(figure)
        if not result:
            continue
        for kind in ("RRRC", "FRRC", "RRFC"):
            if result.get(kind):
                differences = [_generator_first(row, real_sources) for row in result[kind]["differences"]]
                out.append({"figure": title, **result[kind], "differences": differences,
                            "components": result["components"]})
    return out


def _generator_first(row: dict, real_sources: set[str]) -> dict:
    """``row`` (first - second) as generator minus real where ``first`` is the real images."""
    if row["first"] not in real_sources or row["second"] in real_sources:
        return row
    negate = lambda value: None if value is None else -value  # noqa: E731
    return {**row, "first": row["second"], "second": row["first"], "difference": negate(row["difference"]),
            "statistic": negate(row["statistic"]), "ci_low": negate(row["ci_high"]),
            "ci_high": negate(row["ci_low"])}


def _auc_panel(rows: list[dict]) -> list[dict]:
    """The first screen's AUC panel: each generator's reader-averaged AUC and interval as percentages of the track."""
    percent = lambda value: round(100 * min(max(value, 0.0), 1.0), 1)  # noqa: E731
    return [{**row, "left": percent(row["ci_low"]), "width": round(percent(row["ci_high"]) - percent(row["ci_low"]), 1),
             "point": percent(row["estimate"])}
            for row in rows if None not in (row["estimate"], row["ci_low"], row["ci_high"])]


def _readings(report: dict, comparisons: dict) -> dict[str, str]:
    """One line per folded section: what it shows, with its headline figure where there is one."""
    readings = {}
    furthest = min(comparisons["vs_real"], key=lambda row: row["difference"] if row["difference"] is not None
                   else 0.0, default=None)
    readings["comparisons"] = ("Each generator minus the real images on the called-real rate, the generators "
                               "against each other, and the AUC" + (
                                   f"; furthest below the real images: {furthest['first']} "
                                   f"({furthest['difference']:+.3f})." if furthest and furthest["difference"]
                                   is not None else "."))
    power = next((entry for entry in report.get("power", []) if entry.get("power") is not None), None)
    readings["planning"] = (f"Power now {power['power']:.2f} for a difference of {power['effect_size']:g} "
                            f"({power['figure'].replace('_', '-')}); what 80% would take." if power else
                            "Power and sample size for the next study from this one's variance.")
    memorised = [row for row in (report.get("memorisation") or {}).get("generators", [])
                 if row.get("called_real_difference")]
    readings["memorisation"] = ("Seen minus unseen origins, called real: " + "; ".join(
        f"{row['generator']} {row['called_real_difference']['difference']:+.3f}" for row in memorised
        if row["called_real_difference"]["difference"] is not None) + "." if memorised else
        "No generator has both seen and unseen origins on record: memorisation cannot be measured here.")
    readings["pooled"] = "Reader-averaged called-real rate per finding and source, with MRMC intervals."
    overall = next((cell for cell in report["detection"] if cell["reader"] == statistics.POOLED
                    and cell["finding"] == ALL and cell["generator"] == ALL), None)
    readings["detection"] = (f"All readers' accuracy {overall['accuracy']:.3f}, d′ {overall['d_prime']:.2f}: how "
                             "well fakes were spotted, and response bias." if overall and overall["accuracy"]
                             is not None and overall["d_prime"] is not None else
                             "Accuracy, d′ and response bias per reader and generator.")
    kappa = (report.get("agreement") or {}).get("overall") or {}
    readings["agreement"] = (f"Overall kappa {kappa['kappa']:.2f} ({kappa.get('method', '')}), with PABAK and "
                             "agreement on fake and on real." if kappa.get("kappa") is not None else
                             "Kappa, PABAK and agreement on fake and on real.")
    readings["roc"] = "Each reader's AUC per generator with DeLong intervals, from answer plus confidence."
    timing = (report.get("reading_time") or {}).get("readers") or []
    pooled_time = timing[-1] if timing else {}
    readings["time"] = (f"Median {pooled_time['median_ms']:.0f} ms per image over all readers; fast and slow "
                        "answers' accuracy." if pooled_time.get("median_ms") is not None else
                        "Time per image per reader; fast and slow answers' accuracy.")
    return readings


def _with_hype(cells: list[dict], hype: list[dict], key: str) -> list[dict]:
    """Detection rows each with its HYPE-infinity cell (matched on ``key``), joined here rather than in a template
    loop (quadratic in readers)."""
    by_key = {cell[key]: cell for cell in hype}
    return [{**cell, "hype": by_key.get(cell[key])} for cell in cells]


def results_page_context(study: Study) -> dict:
    """What the results page shows, cut from Table 1 and the statistics report into ready-made table rows."""
    results = study_results(study)
    table, report = results.table, results.report
    auc_cells = [cell for cell in report["roc_auc"]["cells"] if cell["reader"] != statistics.POOLED]
    reader_averaged_auc = {row["modality"]: row for row in report["comparisons"]["auc"]}
    return {
        **results.protocol,
        "study": study,
        "version": results.version,
        "table": table.as_dict(),
        "report": report,
        "comparisons": report["comparisons"],
        "other_analyses": _other_analyses(report["mrmc"], set(report["sources"]) - set(report["generators"])),
        "auc_panel": _auc_panel(report["comparisons"]["auc"]),
        "readings": _readings(report, report["comparisons"]),
        "pooled_rates": _pooled_rate_rows(report),
        "reader_detection": _with_hype(_pick(report["detection"], finding=ALL, generator=ALL),
                                       _pick(report["hype_infinity"], generator=ALL), "reader"),
        "generator_detection": _with_hype(_pick(report["detection"], reader=statistics.POOLED, finding=ALL),
                                          _pick(report["hype_infinity"], reader=statistics.POOLED), "generator"),
        "generators": [*report["generators"], ALL],
        "auc_rows": _by_reader(auc_cells, report["readers"]) if auc_cells else [],
        "auc_reader_averaged": [reader_averaged_auc.get(generator) for generator in report["generators"]],
    }
