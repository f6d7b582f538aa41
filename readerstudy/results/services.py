"""The results as the views and commands need them: Table 1, the statistics report and a reader's own score."""
from __future__ import annotations

from readerstudy.studies.models import Membership, Study

from . import selectors, statistics
from .statistics import ALL, study_statistics
from .table1 import Table1, assemble_table1


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


def build_statistics(study: Study) -> dict:
    """Every statistic beyond Table 1: 6 queries (the layout, the cases and the votes as arrays, the excluded cases),
    the rest is numpy."""
    layout = selectors.study_layout(study)
    votes = selectors.vote_arrays(study, layout)
    return {"study": study.slug, **study_statistics(votes, layout.labels),
            "excluded_cases": selectors.excluded_cases(study)}


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


def _pick(cells: list[dict], **wanted) -> list[dict]:
    return [cell for cell in cells if all(cell[key] == value for key, value in wanted.items())]


def results_page_context(study: Study) -> dict:
    """What the results page shows, cut from Table 1 and the statistics report into ready-made table rows."""
    table = build_table1(study)
    report = build_statistics(study)
    rates = report["called_real"]
    pooled_rates = [
        {"finding": finding, "cells": _pick(rates, reader=statistics.POOLED, finding=finding)}
        for finding in [*report["findings"], ALL]
    ]
    auc_cells = report["roc_auc"]["cells"]
    return {
        **protocol_results(study),
        "study": study,
        "table": table.as_dict(),
        "report": report,
        "pooled_rates": pooled_rates,
        "reader_detection": _pick(report["detection"], finding=ALL, generator=ALL),
        "generator_detection": _pick(report["detection"], reader=statistics.POOLED, finding=ALL),
        "reader_hype": _pick(report["hype_infinity"], generator=ALL),
        "generator_hype": _pick(report["hype_infinity"], reader=statistics.POOLED),
        "generators": [*report["generators"], ALL],
        "auc_rows": [
            {"reader": reader, "cells": _pick(auc_cells, reader=reader)}
            for reader in [*report["readers"], statistics.POOLED]
        ] if auc_cells else [],
    }



def protocol_results(study: Study) -> dict:
    """The study protocol's own results: intra-reader agreement on repeats, cue tallies, exposure thresholds (each
    only when the study has the data)."""
    from readerstudy.protocol import selectors as protocol_selectors

    shown = protocol_selectors.study_has_protocol_results(study)
    return {
        "intra_reader": protocol_selectors.intra_reader_agreement(study) if shown["repeats"] else [],
        "cue_tallies": protocol_selectors.cue_tallies(study) if shown["reasons"] else None,
        "exposure_thresholds": protocol_selectors.exposure_thresholds(study) if shown["staircases"] else [],
    }
