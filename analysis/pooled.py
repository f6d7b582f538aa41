"""Intervals for figures that pool readers, from the MRMC (Obuchowski-Rockette) analysis or the reader-and-case
bootstrap rather than from votes taken as independent: each source's reader-averaged called-real rate per finding
(and over all findings), as the headline chart and the pooled table show it, and the pooled accuracy per finding and
generator. Pure numpy (no Django).

Readers read the same cases, so a Wilson interval over all their votes is far too narrow (it covered the truth 64%
of the time in simulation, issue 15). Here each finding's votes get the split-design OR analysis (jackknife over its
cases), and each source's interval is the lead analysis's: readers and cases random with three readers or more,
these readers only (cases random) with fewer."""
from __future__ import annotations

import numpy as np

from .indexing import unique_inverse
from .mrmc.study import study_mrmc
from .statistics import ALL, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Layout, Votes
from .two_way_bootstrap import two_way_bootstrap


def called_real_by_finding(votes: Votes, layout: Layout) -> list[dict]:
    """One row per (finding or All) x source with votes: the reader-averaged called-real rate and its 95% interval
    (clipped to [0, 1]), the analysis it comes from (RRRC or FRRC) and the readers it averages over."""
    rows = []
    findings = [*range(len(layout.findings)), None]
    for finding in findings:
        mask = np.ones(len(votes), dtype=bool) if finding is None else votes.finding == finding
        label = ALL if finding is None else layout.findings[finding]
        present, position = unique_inverse(votes.source[mask])  # the sources voted on, each vote's among them
        present = present.tolist()
        if len(present) < 2:
            continue  # one source alone: nothing to analyse against, no interval that pools readers
        result = study_mrmc(
            votes.reader[mask], votes.case[mask], position.astype(np.int64), votes.called_real[mask],
            np.full(int(mask.sum()), np.nan), readers=layout.readers,
            sources=[layout.sources[s] for s in present], source_is_real=[layout.source_is_real[s] for s in present],
            per_reader=False)
        if result.called_real is None:
            continue
        analysis = result.called_real.analysis(result.leads.get("called_real", result.lead))
        for estimate in analysis.modalities:
            rows.append({
                "finding": label, "source": estimate.modality, "rate": _bounded(estimate.estimate),
                "ci_low": _bounded(estimate.ci_low), "ci_high": _bounded(estimate.ci_high),
                "analysis": analysis.kind, "readers": len(result.called_real.readers),
            })
    return rows


def _bounded(value: float) -> float | None:
    """A rate or interval end clipped to [0, 1]; None where undefined (JSON has no nan)."""
    return None if not np.isfinite(value) else float(np.clip(value, 0, 1))


Estimate = tuple[float | None, float | None, float | None]


def pooled_accuracy(votes: Votes, layout: Layout, resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED) -> dict[tuple[str, str], Estimate]:
    """All readers' accuracy per (finding or All) x (generator or All: over the real images and that generator's),
    with a 95% interval from the reader-and-case bootstrap (``two_way_bootstrap``), keyed by the labels."""
    if len(votes) == 0 or not layout.real_sources or not layout.generators:
        return {}
    cases, case_index = unique_inverse(votes.case)
    readers, reader_index = unique_inverse(votes.reader)
    case_source = np.zeros(len(cases), dtype=np.int64)
    case_source[case_index] = votes.source
    case_finding = np.zeros(len(cases), dtype=np.int64)
    case_finding[case_index] = votes.finding
    is_real = np.asarray(layout.source_is_real)
    correct = np.full((len(readers), len(cases)), np.nan)
    correct[reader_index, case_index] = votes.called_real == is_real[votes.source]
    case_is_real = is_real[case_source]
    generator_masks = [(layout.sources[g], case_is_real | (case_source == g)) for g in layout.generators]
    generator_masks.append((ALL, np.ones(len(cases), dtype=bool)))
    finding_masks = [(name, case_finding == f) for f, name in enumerate(layout.findings)]
    finding_masks.append((ALL, np.ones(len(cases), dtype=bool)))
    labels, columns = [], []
    for finding, in_finding in finding_masks:
        for generator, in_generator in generator_masks:
            labels.append((finding, generator))
            columns.append(in_finding & in_generator)
    draws = two_way_bootstrap(correct, np.column_stack(columns), resamples=resamples, seed=[seed, 7])
    point, low, high = draws.interval()
    return {label: (_bounded(point[i]), _bounded(low[i]), _bounded(high[i])) for i, label in enumerate(labels)}
