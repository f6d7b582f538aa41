"""The study's main comparisons cut from the MRMC analysis, and the same said in words: what the results page, the
Markdown report and the statistics JSON lead with. Pure functions of the report's plain data (no Django)."""
from __future__ import annotations

from analysis.mrmc.or_analysis import GENERALISES_TO


def _analysis(result: dict | None, kind: str) -> dict | None:
    return None if result is None else result.get(kind)


def _bounded(rows: list[dict], low: float, high: float) -> list[dict]:
    """Rows with their interval clipped to what the figure can be (a rate or an AUC in [0, 1], a difference of two
    in [-1, 1]): a t interval around 0.99 may reach past 1; each with ``warning`` where the interval is degenerate."""
    clip = lambda value: None if value is None else min(max(value, low), high)  # noqa: E731
    rows = [{**row, "ci_low": clip(row["ci_low"]), "ci_high": clip(row["ci_high"])} for row in rows]
    return [{**row, "warning": interval_warning(row["ci_low"], row["ci_high"], (low, high))} for row in rows]


def lead_comparisons(mrmc: dict, real_sources: list[str]) -> dict:
    """The lead analysis's comparisons (RRRC where that figure's analysis holds three readers or more, else FRRC; the
    AUC's lead may differ from the called-real rate's), ready for a table:

    * ``called_real``: each source's reader-averaged called-real rate with its interval;
    * ``vs_real``: each generator's called-real rate minus the real images' (0: its fakes pass as real as often as
      real images do);
    * ``called_real_pairs``: every pair of generators on the called-real rate;
    * ``auc`` and ``auc_pairs``: each generator's reader-averaged AUC and every pair of generators on it."""
    kind = mrmc["lead"]
    leads = mrmc.get("leads") or {}
    auc_kind = leads.get("auc", kind)
    called_real = _analysis(mrmc.get("called_real"), kind)
    auc = _analysis(mrmc.get("auc"), auc_kind)
    real = set(real_sources)
    return {
        "kind": kind,
        "auc_kind": auc_kind,
        "generalises_to": GENERALISES_TO[kind],
        "sentence": mrmc["lead_sentence"],
        "called_real": _bounded(called_real["modalities"] if called_real else [], 0, 1),
        "called_real_test": called_real["test"] if called_real else None,
        "vs_real": _bounded(mrmc.get("vs_real", {}).get(kind, []), -1, 1),
        "called_real_pairs": _bounded([row for row in (called_real["differences"] if called_real else [])
                                       if row["first"] not in real and row["second"] not in real], -1, 1),
        "auc": _bounded(auc["modalities"] if auc else [], 0, 1),
        "auc_test": auc["test"] if auc else None,
        "auc_pairs": _bounded(auc["differences"] if auc else [], -1, 1),
        "auc_note": mrmc.get("auc_note", ""),
        "called_real_note": mrmc.get("called_real_note", ""),
        "notes": mrmc.get("notes", []),
    }


def format_p(value: float | None) -> str:
    """A p-value as every page, report and sentence writes it, whole: "p < 0.0001", "p = 0.0123", or "no test"
    where there is none (e.g. a zero error term). The one place the format lives."""
    if value is None or value != value:
        return "no test"
    return "p < 0.0001" if value < 0.0001 else f"p = {value:.4f}"


_p = format_p

DEGENERATE_ZERO = ("zero-width interval: every reader's figure is the same here (e.g. all answered alike), so it "
                   "shows no uncertainty it cannot measure, not certainty")
DEGENERATE_FULL = ("the interval spans the whole possible range: too few readers or cases to say anything about this "
                   "figure")


def interval_warning(low: float | None, high: float | None, full: tuple[float, float] = (0.0, 1.0)) -> str:
    """Why an interval cannot be read as one: zero width, or the whole range the figure can take ("" if neither)."""
    if low is None or high is None:
        return ""
    if abs(high - low) < 1e-12:
        return DEGENERATE_ZERO
    if low <= full[0] + 1e-9 and high >= full[1] - 1e-9:
        return DEGENERATE_FULL
    return ""


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _three(value: float | None, sign: str = "") -> str:
    return "–" if value is None else f"{value:{sign}.3f}"


def _signed_points(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.0f}"


def _points(row: dict) -> str:
    """A difference of rates in percentage points with its interval."""
    return (f"{_signed_points(row['difference'])} points (95% CI {_signed_points(row['ci_low'])} to "
            f"{_signed_points(row['ci_high'])}, {_p(row['p_value'])})")


def _auc_difference(row: dict) -> str:
    return (f"{_three(row['difference'], '+')} (95% CI {_three(row['ci_low'], '+')} to "
            f"{_three(row['ci_high'], '+')}, {_p(row['p_value'])})")


def summary_sentences(report: dict, comparisons: dict) -> list[str]:
    """One paragraph, as sentences: the data, what generalises, each generator against the real images, the
    generators against each other, and the AUC (or why there is none)."""
    sentences = [f"{report['n_votes']} vote{'s' if report['n_votes'] != 1 else ''} from "
                 f"{len(report['readers'])} reader{'s' if len(report['readers']) != 1 else ''}."]
    if not report["n_votes"]:
        return sentences + ["No comparison can be made before readers have voted."]
    sentences.append(comparisons["sentence"])
    rates = {row["modality"]: row for row in comparisons["called_real"]}
    if rates:
        parts = [f"{name} {_percent(row['estimate'])} (95% CI {_percent(row['ci_low'])} to {_percent(row['ci_high'])})"
                 for name, row in rates.items()]
        sentences.append("Images called real, averaged over readers: " + "; ".join(parts) + ".")
    else:
        sentences.append(comparisons["called_real_note"])
    if comparisons["vs_real"]:
        parts = []
        for row in comparisons["vs_real"]:
            low, high = row["ci_low"], row["ci_high"]
            verdict = ("called real less often than the real images" if high is not None and high < 0 else
                       "called real more often than the real images" if low is not None and low > 0 else
                       "not distinguishable from the real images on this rate")
            parts.append(f"{row['first']} {_points(row)}, {verdict}")
        sentences.append("Against the real images: " + "; ".join(parts) + ".")
    if comparisons["called_real_pairs"]:
        sentences.append("Between generators (called-real rate): " + "; ".join(
            f"{row['first']} − {row['second']} {_points(row)}" for row in comparisons["called_real_pairs"]) + ".")
    if comparisons["auc"]:
        parts = [f"{row['modality']} {_three(row['estimate'])} (95% CI {_three(row['ci_low'])} to "
                 f"{_three(row['ci_high'])})" for row in comparisons["auc"]]
        sentences.append("AUC for telling each generator's images from real ones (0.5 is chance): "
                         + "; ".join(parts) + ".")
        if comparisons["auc_pairs"]:
            sentences.append("Between generators (AUC): " + "; ".join(
                f"{row['first']} − {row['second']} {_auc_difference(row)}" for row in comparisons["auc_pairs"]) + ".")
    elif comparisons["auc_note"]:
        sentences.append(comparisons["auc_note"])
    return sentences


def _names(rows: list[dict]) -> str:
    names = [row["generator"] for row in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verdict_phrases(verdicts: list[dict], margin: float) -> list[str]:
    """The verdicts grouped by outcome, shortest first-screen form (each generator's full sentence is in the
    table): "StarGAN and Pix2Pix fail", "Pix2Pix-N passes (non-inferior within 0.10)", "X is inconclusive: ..."."""
    phrases = []
    passing = [row for row in verdicts if row["outcome"] == "passes"]
    if passing:
        word = "equivalent" if passing[0]["test"] == "equivalence" else "non-inferior"
        phrases.append(f"{_names(passing)} pass{'es' if len(passing) == 1 else ''} ({word} within {margin:.2f})")
    failing = [row for row in verdicts if row["outcome"] == "fails"]
    if failing:
        phrases.append(f"{_names(failing)} fail{'s' if len(failing) == 1 else ''} (the whole interval lies beyond "
                       "the margin)")
    for row in verdicts:
        if row["outcome"] == "inconclusive":
            phrases.append(f"{row['generator']} is inconclusive: the interval crosses the margin (power "
                           f"{row['power_at_zero']:.2f} at a true difference of 0)")
        elif row["outcome"] == "no test":
            phrases.append(f"{row['generator']} has no test (zero-width interval)")
    return phrases


NO_PLAN = "No analysis plan was registered before opening, so no generator can be said to pass for real"
NO_PLAN_YET = ("No analysis plan is registered yet: register one before opening, or no generator can be said to pass "
               "for real")


def answer_sentences(report: dict, comparisons: dict, equivalence: dict | None, *, draft: bool = False) -> list[str]:
    """What the study found for its main question (does each generator pass for real?), in at most three sentences:
    the pre-registered verdicts (or, without a plan, that none can be given and the differences instead), what the
    comparisons generalise to, and the AUC where readers gave confidence. Differences are generator minus real.
    Without a plan the answer says so once, whatever else it can say (``NO_PLAN``, or ``NO_PLAN_YET`` for a draft,
    whose plan can still be registered); the page puts the plan's link beside it and nothing else repeats it."""
    no_plan = NO_PLAN_YET if draft else NO_PLAN
    n_votes, n_readers = report["n_votes"], len(report["readers"])
    if not n_votes:
        planned = (f" The pre-registered test is {equivalence['plan']['test'].replace('_', '-')} on the "
                   f"{'AUC' if equivalence['plan']['endpoint'] == 'auc' else 'called-real rate'} (a generator passes "
                   f"if {equivalence['criterion']})." if equivalence else f" {no_plan}.")
        return ["No votes yet, so there is no answer: each generator's verdict appears here once readers have voted."
                + planned]
    sentences = []
    if equivalence and equivalence["verdicts"]:
        plan = equivalence["plan"]
        what = "AUC" if plan["endpoint"] == "auc" else "called-real rate"
        sentences.append(f"Pre-registered {plan['test'].replace('_', '-')} test on the {what} "
                         f"({equivalence['analysis']}; a generator passes if {equivalence['criterion']}): "
                         + "; ".join(_verdict_phrases(equivalence["verdicts"], plan["margin"])) + ".")
    elif equivalence:
        sentences.append(f"The pre-registered test cannot be run yet: {equivalence['note']}")
    elif comparisons["vs_real"]:
        parts = [f"{row['first']} {_points(row)}" for row in comparisons["vs_real"]]
        sentences.append(f"{no_plan}; called real against the real images (generator minus real): "
                         + "; ".join(parts) + ".")
    else:
        sentences.append(f"{no_plan}. "
                         + (comparisons["called_real_note"] or "No comparison with the real images yet."))
    scope = ("for these readers only (fixed readers, random cases)" if comparisons["kind"] == "FRRC" else
             "generalising to other readers reading other cases")
    if comparisons["auc"] and comparisons.get("auc_kind") != comparisons["kind"]:
        scope += f" (the AUC: {comparisons['auc_kind']}, for these readers only)"
    sentences.append(f"{n_votes} vote{'s' if n_votes != 1 else ''} from {n_readers} reader"
                     f"{'s' if n_readers != 1 else ''}, {scope}.")
    if comparisons["auc"]:
        parts = [f"{row['modality']} {_three(row['estimate'])}" for row in comparisons["auc"]]
        sentences.append("Readers' AUC for telling each generator's images from real: " + ", ".join(parts)
                         + " (0.5 is chance).")
    return sentences[:3]
