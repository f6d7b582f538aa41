"""Memorisation measured: does a generator pass for real more often on origins it saw in training?

Each generated case may carry whether its origin image was in its generator's training split (``origin_seen``: 1
seen, 0 unseen, nan no record). Per generator the seen and unseen fakes become two modalities of one MRMC analysis
beside the real images (``mrmc.study.study_mrmc``, readers and cases random): each one's called-real rate (and AUC
where readers rated confidence), and the difference seen minus unseen with its RRRC interval (FRRC with fewer than 3
readers, saying so). A generator whose fakes of seen origins pass as real more often than those of unseen ones is
reproducing its training images rather than generalising. A generator with no record on some of its fakes is named,
with how many; one with only seen or only unseen origins cannot be compared and is said so.
"""
from __future__ import annotations

import numpy as np

from .mrmc.fom import fake_score
from .mrmc.study import study_mrmc
from .statistics import Layout, Votes

SEEN, UNSEEN = "seen", "unseen"


def _row(analysis: dict | None, kind: str, first: str, second: str) -> dict | None:
    if analysis is None or analysis.get(kind) is None:
        return None
    for row in analysis[kind]["differences"]:
        if (row["first"], row["second"]) == (first, second):
            return row
        if (row["first"], row["second"]) == (second, first):
            negate = lambda value: None if value is None else -value  # noqa: E731
            return {**row, "first": first, "second": second, "difference": negate(row["difference"]),
                    "ci_low": negate(row["ci_high"]), "ci_high": negate(row["ci_low"])}
    return None


def _estimates(analysis: dict | None, kind: str) -> dict[str, dict]:
    if analysis is None or analysis.get(kind) is None:
        return {}
    return {row["modality"]: row for row in analysis[kind]["modalities"]}


def memorisation(votes: Votes, layout: Layout) -> dict:
    """Per generator: called-real rate (and AUC) of its fakes of seen and of unseen origins, the difference seen minus
    unseen with its interval, and what is missing. ``{"generators": [...], "note": ...}``."""
    rows = []
    if votes.origin_seen is None or not layout.real_sources:
        return {"generators": [], "note": "No record of which origins the generators saw in training."}
    real = np.isin(votes.source, layout.real_sources)
    for g in layout.generators:
        name = layout.sources[g]
        mine = votes.source == g
        seen = votes.origin_seen
        cases = {flag: int(len(np.unique(votes.case[mine & (seen == flag)]))) for flag in (1.0, 0.0)}
        unknown = int(len(np.unique(votes.case[mine & np.isnan(seen)])))
        entry = {"generator": name, "seen_cases": cases[1.0], "unseen_cases": cases[0.0], "no_record_cases": unknown}
        if unknown and not (cases[1.0] or cases[0.0]):
            entry["note"] = (f"{name}: its batch carries no record of which origins were in its training split, so "
                             "memorisation cannot be measured.")
            rows.append(entry)
            continue
        if not (cases[1.0] and cases[0.0]):
            which = SEEN if cases[1.0] else UNSEEN
            entry["note"] = f"{name}: every recorded origin is {which}, so seen and unseen cannot be compared."
            rows.append(entry)
            continue
        keep = real | (mine & ~np.isnan(seen))
        source = np.where(real[keep], 0, np.where(seen[keep] == 1.0, 1, 2))
        labels = ["Real", f"{name} ({SEEN})", f"{name} ({UNSEEN})"]
        result = study_mrmc(votes.reader[keep], votes.case[keep], source, votes.called_real[keep],
                            fake_score(votes.called_real[keep], votes.confidence[keep]), readers=layout.readers,
                            sources=labels, source_is_real=[True, False, False], per_reader=False).as_dict()
        kind = result["leads"].get("called_real", result["lead"])
        rates = _estimates(result["called_real"], kind)
        entry.update({
            "analysis": kind,
            "called_real": {SEEN: rates.get(labels[1]), UNSEEN: rates.get(labels[2])},
            "called_real_difference": _row(result["called_real"], kind, labels[1], labels[2]),
        })
        auc_kind = result["leads"].get("auc", kind)
        areas = _estimates(result["auc"], auc_kind)
        if areas:
            entry.update({"auc_analysis": auc_kind, "auc": {SEEN: areas.get(labels[1]), UNSEEN: areas.get(labels[2])},
                          "auc_difference": _row(result["auc"], auc_kind, labels[1], labels[2])})
        if unknown:
            entry["note"] = f"{name}: {unknown} case(s) without a record of their origin are left out."
        if kind == "FRRC":
            entry["note"] = (entry.get("note", "") + " Fewer than 3 readers: FRRC, for these readers only.").strip()
        rows.append(entry)
    return {"generators": rows, "note": (
        "Seen minus unseen: a positive called-real difference (or a lower AUC) on seen origins suggests the "
        "generator reproduces training images.")}
