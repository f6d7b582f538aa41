"""The MRMC analysis of a reader study's votes: generators as modalities, in the study's split design.

Two figures of merit, each analysed by Obuchowski-Rockette (``or_analysis``) with the covariance jackknifed over
**all** cases (``fom.py``):

* **AUC** per reader x generator: how well the reader tells that generator's images from the real ones, from the
  answer plus confidence (the 1-10 fake-score). A generator's cases are the real images (shared by every generator)
  and its own fakes, so two generators' AUCs covary through the real images only; the jackknife over all cases
  picks that up by itself. With one generator there is nothing to compare (no F test), but its AUC still has its
  own OR standard error and interval (``or_analysis``'s per-modality rows), which the AUC endpoint of an analysis
  plan tests against 0.5.
* **Called-real rate** per reader x source (Real included): the share of the source's images the reader called
  real. Sources share no case; comparing a generator with Real asks whether its fakes pass as often as real images do.

Pairwise differences are analysed pair by pair by default (``pairwise="separate"``): the real images' called-real
rate varies across readers differently from a generator's, and pooling its reader x modality interaction into the
G1 - G2 comparison made that test conservative (type I error 0.028 instead of 0.05 in 1,000 simulated null studies;
0.049 pair by pair, ``bench/bench_mrmc.py``).

Readers who have not read a usable set of cases (for the AUC: no rated real image or no rated image of some
generator) are left out of that figure, with a note. Votes need not be complete: each reader's figure uses the cases
they read, and the jackknife over all cases stays valid.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..indexing import unique_inverse
from . import fom
from .or_analysis import Difference, OrResult, json_ready, or_analysis, plain

MIN_READERS_TO_GENERALISE = 3


@dataclass(frozen=True)
class StudyMrmc:
    """The MRMC analysis of a study; ``as_dict`` gives JSON-ready data.

    ``leads`` gives, per figure, the analysis to show first: "RRRC", or "FRRC" where that figure's analysis holds
    fewer than 3 readers (counted in the analysis, not among all voters); ``lead`` is the called-real figure's (the
    AUC's without one) and ``lead_sentence`` says what the lead analyses generalise to. ``vs_real`` has, per analysis
    kind, each generator's called-real rate minus the real images' (a difference near 0 means its fakes pass as real
    as often as real images do)."""

    readers: list[str]
    lead: str
    lead_sentence: str
    auc: OrResult | None
    auc_note: str
    called_real: OrResult | None
    called_real_note: str
    vs_real: dict[str, list[Difference]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    leads: dict[str, str] = field(default_factory=dict)  # per figure ("called_real", "auc"): its lead analysis

    def as_dict(self) -> dict:
        """JSON-ready: the two OR results are already (``OrResult.as_dict``), so only the rest is converted here
        (a second pass over thousands of per-reader differences cost a tenth of a second at 300 readers)."""
        rest = json_ready({
            "readers": self.readers, "lead": self.lead, "lead_sentence": self.lead_sentence,
            "auc_note": self.auc_note, "called_real_note": self.called_real_note,
            "vs_real": {kind: [plain(difference) for difference in differences]
                        for kind, differences in self.vs_real.items()},
            "notes": self.notes, "leads": self.leads,
        })
        return {**rest, "auc": None if self.auc is None else self.auc.as_dict(),
                "called_real": None if self.called_real is None else self.called_real.as_dict()}


@dataclass(frozen=True)
class SplitDesign:
    """Votes laid out by reader x case: ``cases`` the case ids, ``case_source`` each case's source index,
    ``called_real`` and ``fake_score`` (R, K) with nan where the reader has no vote (or, for the score, no rating)."""

    readers: list[int]
    cases: np.ndarray
    case_source: np.ndarray
    called_real: np.ndarray
    fake_score: np.ndarray


def split_design(reader: np.ndarray, case: np.ndarray, source: np.ndarray, called_real: np.ndarray,
                 fake_score: np.ndarray) -> SplitDesign:
    """Per-vote arrays to reader x case matrices, over the readers who voted."""
    reader = np.asarray(reader, dtype=np.int64)
    cases, case_index = unique_inverse(case)
    voters, reader_index = unique_inverse(reader)
    case_source = np.zeros(len(cases), dtype=np.int64)
    case_source[case_index] = np.asarray(source, dtype=np.int64)
    shape = (len(voters), len(cases))
    real = np.full(shape, np.nan)
    real[reader_index, case_index] = np.asarray(called_real, dtype=float)
    score = np.full(shape, np.nan)
    score[reader_index, case_index] = np.asarray(fake_score, dtype=float)
    return SplitDesign(readers=[int(r) for r in voters], cases=cases, case_source=case_source, called_real=real,
                       fake_score=score)


def called_real_array(design: SplitDesign, n_sources: int) -> np.ndarray:
    """(R, S, K): each case appears only under its own source."""
    in_source = design.case_source[None, :] == np.arange(n_sources)[:, None]  # (S, K)
    return np.where(in_source[None], design.called_real[:, None, :], np.nan)


def auc_score_array(design: SplitDesign, source_is_real: list[bool]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(R, G, K) fake-scores where generator g's cases are every real image and g's own fakes; the case truth
    (1 fake, 0 real); the generators' source indices."""
    is_real = np.asarray(source_is_real, dtype=bool)
    generators = [s for s, real in enumerate(source_is_real) if not real]
    case_is_real = is_real[design.case_source]
    member = np.stack([case_is_real | (design.case_source == g) for g in generators])  # (G, K)
    scores = np.where(member[None], design.fake_score[:, None, :], np.nan)
    return scores, (~case_is_real).astype(np.int64), generators


def _usable_readers(values: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(values), axis=1)


def _flip(difference: Difference) -> Difference:
    return replace(difference, first=difference.second, second=difference.first, difference=-difference.difference,
                   statistic=-difference.statistic, ci_low=-difference.ci_high, ci_high=-difference.ci_low)


def _vs_real(result: OrResult, real_label: str) -> dict[str, list[Difference]]:
    out = {}
    for kind in ("RRRC", "FRRC", "RRFC"):
        analysis = result.analysis(kind)
        if analysis is None:
            continue
        rows = []
        for difference in analysis.differences:
            if difference.second == real_label:
                rows.append(difference)
            elif difference.first == real_label:
                rows.append(_flip(difference))
        out[kind] = rows
    return out


def study_mrmc(reader, case, source, called_real, fake_score, *, readers: list[str], sources: list[str],
               source_is_real: list[bool], alpha: float = 0.05, pairwise: str = "separate",
               per_reader: bool = True) -> StudyMrmc:
    """The whole MRMC analysis of a study from per-vote arrays (first showings only, one vote per reader and case).

    ``reader`` indexes ``readers`` (pseudonyms), ``source`` indexes ``sources`` (Real first, ``source_is_real``),
    ``case`` is any integer case id, ``called_real`` is bool, ``fake_score`` is the 1-10 fake-score (nan where the
    vote has no confidence). Returns both figures' OR analyses (RRRC, FRRC, RRFC; every pair of generators for the
    AUC, every pair of sources for the called-real rate) and each generator's called-real rate against Real's. With
    one generator the AUC analysis holds its per-generator rows and no comparison."""
    design = split_design(reader, case, source, called_real, fake_score)
    labels = [readers[r] for r in design.readers]
    notes: list[str] = []
    voted = sorted(set(design.case_source.tolist()))
    if len(voted) < len(sources):
        notes.append("No votes yet on " + ", ".join(name for s, name in enumerate(sources) if s not in voted)
                     + ": left out of the analysis.")
        position = {s: index for index, s in enumerate(voted)}
        design = replace(design, case_source=np.array([position[s] for s in design.case_source], dtype=np.int64))
        sources = [sources[s] for s in voted]
        source_is_real = [source_is_real[s] for s in voted]
    generators = [s for s, real in enumerate(source_is_real) if not real]
    real_sources = [s for s, real in enumerate(source_is_real) if real]

    called_real_result, called_real_note, vs_real = None, "", {}
    values = called_real_array(design, len(sources))
    rates = fom.rate(values)
    keep = _usable_readers(rates)
    if len(sources) < 2:
        called_real_note = "The called-real rates need at least two sources to compare."
    elif not keep.any():
        called_real_note = "No reader has voted on images of every source yet."
    else:
        if not keep.all():
            notes.append("Left out of the called-real analysis (no vote on some source yet): "
                         + ", ".join(label for label, kept in zip(labels, keep, strict=True) if not kept) + ".")
        covariance = fom.jackknife_summary(fom.rate_jackknife(values[keep]), fom.in_modality(values[keep]))
        called_real_result = or_analysis(rates[keep], covariance, readers=_kept(labels, keep), modalities=sources,
                                         alpha=alpha, pairwise=pairwise, per_reader=per_reader)
        called_real_note = "Share of each source's images called real, per reader; sources share no image."
        if real_sources:
            vs_real = _vs_real(called_real_result, sources[real_sources[0]])

    auc_result, auc_note = None, ""
    if np.isnan(design.fake_score).all():
        auc_note = ("No vote carries a confidence rating (the study did not ask for one), so there is no ROC AUC: "
                    "the answers alone give one point on the ROC curve, not a curve; see the called-real rates.")
    elif not generators or not real_sources:
        auc_note = "The AUC needs real images and at least one generator."
    else:
        scores, truth, _ = auc_score_array(design, source_is_real)
        areas, loo = fom.auc_and_jackknife(scores, truth)
        rated = np.isfinite(areas).any(axis=0)  # a generator none of whose images has a rated vote yet
        if not rated.all():
            notes.append("No rated votes yet on " + ", ".join(sources[g] for g, ok in zip(generators, rated,
                                                                                          strict=True) if not ok)
                         + ": left out of the AUC analysis.")
            generators = [g for g, ok in zip(generators, rated, strict=True) if ok]
            scores, areas, loo = scores[:, rated], areas[:, rated], loo[:, rated]
        keep_auc = _usable_readers(areas)
        if not generators:
            auc_note = "The AUC needs rated votes on some generator's images."
        elif not keep_auc.any():
            auc_note = "No reader has rated real images and images of every generator yet."
        else:
            if not keep_auc.all():
                notes.append("Left out of the AUC analysis (no rated real image or no rated image of some generator "
                             "yet): " + ", ".join(label for label, kept in zip(labels, keep_auc, strict=True)
                                                  if not kept) + ".")
            covariance = fom.jackknife_summary(loo[keep_auc], fom.in_modality(scores[keep_auc]))
            auc_result = or_analysis(areas[keep_auc], covariance, readers=_kept(labels, keep_auc),
                                     modalities=[sources[g] for g in generators], alpha=alpha, pairwise=pairwise,
                                     per_reader=per_reader)
            auc_note = ("AUC of telling each generator's images from the real ones, from answer plus confidence "
                        "(1-10 fake-score); 0.5 is chance, 1 every fake spotted.")
            if len(generators) == 1:
                auc_note += (f" One generator ({sources[generators[0]]}): there is no other generator to compare its "
                             "AUC with (no F test); its AUC stands against 0.5 with its own standard error.")

    analysed = {figure: len(result.readers) for figure, result in (("called_real", called_real_result),
                                                                    ("auc", auc_result)) if result is not None}
    leads = {figure: lead_analysis(count) for figure, count in analysed.items()}
    lead = leads.get("called_real", leads.get("auc", lead_analysis(len(labels))))
    return StudyMrmc(readers=labels, lead=lead, lead_sentence=_lead_sentence(analysed, len(labels)), auc=auc_result,
                     auc_note=auc_note, called_real=called_real_result, called_real_note=called_real_note,
                     vs_real=vs_real, notes=notes, leads=leads)


def lead_analysis(n_readers: int) -> str:
    """RRRC with at least ``MIN_READERS_TO_GENERALISE`` readers in the analysis itself, else FRRC."""
    return "RRRC" if n_readers >= MIN_READERS_TO_GENERALISE else "FRRC"


def _readers(count: int) -> str:
    return f"{count} reader{'s' if count != 1 else ''}"


def _lead_sentence(analysed: dict[str, int], n_voters: int) -> str:
    """What the lead analyses generalise to, counted from the readers each analysis holds (not every voter: a reader
    who rated only real images is in no AUC analysis)."""
    names = {"called_real": "called-real", "auc": "AUC"}
    generalising = [figure for figure, count in analysed.items() if lead_analysis(count) == "RRRC"]
    fixed = [figure for figure in analysed if figure not in generalising]
    if not analysed:
        count = n_voters
        if lead_analysis(count) == "FRRC":
            return (f"With {_readers(count)}, nothing here generalises to other readers: the comparisons are for "
                    "these readers only, reading other cases like these (fixed readers, random cases).")
        return ("The comparisons generalise to other readers reading other cases like these (readers and cases both "
                "random, Obuchowski-Rockette with Hillis's degrees of freedom).")
    if not generalising:
        counts = sorted({analysed[figure] for figure in fixed})
        return (f"With {' and '.join(_readers(c) for c in counts)} in the analysis, nothing here generalises to "
                "other readers: the comparisons are for these readers only, reading other cases like these (fixed "
                "readers, random cases).")
    sentence = ("The " + " and ".join(names[f] for f in generalising) + " comparisons generalise to other readers "
                "reading other cases like these (readers and cases both random, Obuchowski-Rockette with Hillis's "
                "degrees of freedom).")
    for figure in fixed:
        sentence += (f" The {names[figure]} analysis holds only {_readers(analysed[figure])}, so its comparisons are "
                     "for these readers only (fixed readers, random cases).")
    return sentence


def _kept(labels: list[str], keep: np.ndarray) -> list[str]:
    return [label for label, kept in zip(labels, keep, strict=True) if kept]


def study_mrmc_from_votes(votes, layout, alpha: float = 0.05, pairwise: str = "separate") -> StudyMrmc:
    """``study_mrmc`` on ``statistics.Votes`` and ``statistics.Layout`` (the arrays the results page already has)."""
    return study_mrmc(votes.reader, votes.case, votes.source, votes.called_real,
                      fom.fake_score(votes.called_real, votes.confidence), readers=layout.readers,
                      sources=layout.sources, source_is_real=layout.source_is_real, alpha=alpha, pairwise=pairwise)
