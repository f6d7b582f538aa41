"""The study protocol's own results: intra-reader agreement on repeats (each reader's kappa and the readers' mean, with
intervals), the cues ticked after a Fake answer, and the exposure thresholds of adaptive studies."""
from __future__ import annotations

import math
from collections import Counter, defaultdict

from django.db.models import Count, Max
from scipy.special import stdtrit

from analysis.agreement_measures import intra_reader_agreement as kappa_with_intervals
from readerstudy.reading.models import FakeReason, RepeatVote, StaircaseTrack, Vote
from readerstudy.reading.services import protocol_for
from readerstudy.reading.staircase import MIN_REVERSALS, pooled_threshold_estimate
from readerstudy.reading.state import settled_staircase
from readerstudy.studies.models import Membership, Study


def intra_reader_agreement(study: Study) -> list[dict]:
    """Per reader: how often the repeat's answer equals the first showing's, and Cohen's kappa between the two with
    its 95% bootstrap interval (``results.agreement_measures``)."""
    return intra_reader_summary(study)["rows"]


def intra_reader_summary(study: Study) -> dict:
    """``rows`` as ``intra_reader_agreement`` and ``mean``: the readers' mean kappa, with an interval that resamples
    readers and their repeated images."""
    firsts = {(m, c): a for m, c, a in Vote.objects.filter(membership__study=study)
              .values_list("membership_id", "case_id", "answer")}
    members = list(Membership.objects.filter(study=study).order_by("number"))
    index = {member.pk: position for position, member in enumerate(members)}
    pairs = [(index[membership_id], firsts[(membership_id, case_id)] == "real", answer == "real")
             for membership_id, case_id, answer in RepeatVote.objects.filter(membership__study=study).values_list(
                 "membership_id", "case_id", "answer")
             if (membership_id, case_id) in firsts and membership_id in index]
    reader, first_real, repeat_real = (list(column) for column in zip(*pairs, strict=True)) if pairs else ([], [], [])
    result = kappa_with_intervals(reader, first_real, repeat_real, n_readers=len(members))
    tables: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r, first, repeat in pairs:
        tables[r][(0 if first else 2) + (0 if repeat else 1)] += 1
    rows = []
    for r, member in enumerate(members):
        both_real, first_only, second_only, both_fake = tables[r]
        count = both_real + first_only + second_only + both_fake
        kappa = result["readers"][r]
        rows.append({
            "reader": member.pseudonym, "pairs": count,
            "percent_agreement": round(100 * (both_real + both_fake) / count, 1) if count else None,
            "kappa": None if kappa["kappa"] is None else round(kappa["kappa"], 3),
            "ci_low": kappa["ci_low"], "ci_high": kappa["ci_high"],
            "table": {"real_real": both_real, "real_fake": first_only, "fake_real": second_only,
                      "fake_fake": both_fake},
        })
    return {"rows": rows, "mean": result["mean"]}


def cue_tallies(study: Study) -> dict:
    """How often each cue was ticked on a Fake answer, per source and per finding (first showings only)."""
    by_source: dict[str, Counter] = defaultdict(Counter)
    by_finding: dict[str, Counter] = defaultdict(Counter)
    fake_answers = Counter()
    reasons = FakeReason.objects.filter(vote__membership__study=study).values_list(
        "cues", "vote__case__source__name", "vote__case__finding__name")
    cues_seen: dict[str, None] = dict.fromkeys(study.fake_cues.values_list("label", flat=True))
    for cues, source, finding in reasons:
        for cue in cues:
            cues_seen.setdefault(cue, None)
            by_source[source][cue] += 1
            by_finding[finding][cue] += 1
    for source, finding in Vote.objects.filter(membership__study=study, answer="fake").values_list(
            "case__source__name", "case__finding__name"):
        fake_answers[source] += 1
        fake_answers[f"finding:{finding}"] += 1
    cues = list(cues_seen)
    return {
        "cues": cues,
        "by_source": [{"source": name, "fake_answers": fake_answers[name], "counts": [counts[c] for c in cues]}
                      for name, counts in sorted(by_source.items())],
        "by_finding": [{"finding": name, "fake_answers": fake_answers[f"finding:{name}"],
                        "counts": [counts[c] for c in cues]} for name, counts in sorted(by_finding.items())],
        "with_reasons": reasons.count(),
    }


def exposure_thresholds(study: Study) -> list[dict]:
    """Per generator: each reader's threshold exposure with its 95% interval (only from 6 usable reversals on; see
    ``staircase.threshold_estimate``) and the readers' geometric mean with a t interval over the readers' log
    thresholds (readers as a sample; none with fewer than two readers' thresholds), with the current level and the
    number of trials."""
    protocol = protocol_for(study)
    lanes = (StaircaseTrack.objects.filter(membership__study=study)
             .select_related("membership", "source")
             .order_by("source__order", "source__name", "membership__number", "lane"))
    per_reader: dict[tuple, list] = defaultdict(list)
    for lane in lanes:
        per_reader[(lane.source.name, lane.membership.pseudonym)].append(settled_staircase(lane, protocol))
    by_source: dict[str, list[dict]] = defaultdict(list)
    for (source, reader), staircases in per_reader.items():
        estimate = pooled_threshold_estimate([staircase.reversals for staircase in staircases])
        by_source[source].append({
            "reader": reader, "threshold_ms": estimate and estimate.threshold_ms,
            "ci_low": estimate and estimate.ci_low, "ci_high": estimate and estimate.ci_high,
            "reversals": sum(len(staircase.reversals) for staircase in staircases),
            "trials": sum(staircase.trials for staircase in staircases),
            "level_ms": round(math.exp(sum(math.log(staircase.level_ms) for staircase in staircases)
                                       / len(staircases))),
            "lanes": len(staircases),
        })
    rows = []
    for source, readers in by_source.items():
        logs = [math.log(row["threshold_ms"]) for row in readers if row["threshold_ms"] is not None]
        pooled = low = high = None
        if logs:
            mean = sum(logs) / len(logs)
            pooled = math.exp(mean)
            if len(logs) >= 2:
                spread = math.sqrt(sum((value - mean) ** 2 for value in logs) / (len(logs) - 1))
                half = float(stdtrit(len(logs) - 1, 0.975)) * spread / math.sqrt(len(logs))
                low, high = math.exp(mean - half), math.exp(mean + half)
        rows.append({"source": source, "readers": readers, "threshold_ms": pooled, "ci_low": low, "ci_high": high,
                     "readers_with_threshold": len(logs)})
    return rows


def study_has_protocol_results(study: Study) -> dict:
    """Which protocol sections the results page should show."""
    flags = Study.objects.filter(pk=study.pk).aggregate(
        repeats=Count("memberships__repeat_votes", distinct=True),
        reasons=Count("memberships__votes__fake_reason", distinct=True),
        staircases=Max("memberships__staircases__trials"),
    )
    return {"repeats": bool(flags["repeats"]), "reasons": bool(flags["reasons"]) or study.fake_cues.exists(),
            "staircases": bool(flags["staircases"])}


def protocol_results(study: Study) -> dict:
    """The study protocol's own results: intra-reader agreement on repeats (each reader's kappa and the readers' mean,
    with intervals), cue tallies, exposure thresholds (only from enough reversals, with intervals); each only when the
    study has the data."""
    shown = study_has_protocol_results(study)
    intra = intra_reader_summary(study) if shown["repeats"] else {"rows": [], "mean": None}
    return {
        "intra_reader": intra["rows"],
        "intra_reader_mean": intra["mean"],
        "cue_tallies": cue_tallies(study) if shown["reasons"] else None,
        "exposure_thresholds": exposure_thresholds(study) if shown["staircases"] else [],
        "min_reversals": MIN_REVERSALS,
    }
