"""Does a generator pass for real? Non-inferiority and equivalence against a pre-registered margin.

A difference test cannot say "passes": a non-significant difference with little power is absence of evidence. Here
the question is turned round (Schuirmann's two one-sided tests; for non-inferiority the one that matters):

* **called-real rate** (``endpoint="called_real"``), d = the generator's called-real rate minus the real images'
  (generator minus real, the sign used everywhere). Non-inferiority: H0 d <= -margin against H1 d > -margin ("its
  fakes are called real at most ``margin`` less often than real images"). Equivalence adds H0 d >= +margin.
* **AUC** (``endpoint="auc"``), the readers' AUC of telling the generator's images from real ones, 0.5 being chance:
  d = AUC - 0.5. Non-inferiority: H0 d >= margin against H1 d < margin ("readers tell its fakes from real with an
  AUC below 0.5 + margin"). Equivalence adds H0 d <= -margin (readers reliably calling the real ones fake is no pass).

Each one-sided test at ``alpha`` is a t test on the estimate and standard error of the MRMC analysis (RRRC: the
Obuchowski-Rockette standard error, so the verdict generalises to other readers and other cases; FRRC with fewer than
3 readers, normal, for these readers only); equivalently the (1 - 2 alpha) interval lies inside the margin. Under RRRC
the df is J - 1 (the readers less one, the original OR df), not Hillis's larger df: at the margin, with 3-5 readers,
Hillis's df let 0.061-0.071 of simulated null studies pass (alpha 0.05; the estimate and its standard error move
together for a rate), J - 1 0.009-0.040 (``bench/bench_equivalence.py``). A pass must not be easier than alpha says.
The verdict: **passes** when the test rejects, **fails** when the interval lies wholly beyond the margin, otherwise
**inconclusive: the interval crosses the margin**, with the power the study had against a true difference of 0.

Validated by simulation at the margin (``bench/bench_equivalence.py``; a small version in the tests): the share of
null studies (true difference exactly at the margin) that pass is the type I error and must not exceed alpha. Both
endpoints: for the AUC the simulator's population AUC is solved numerically (``equivalence_simulation``) and the
estimate is the one generator's reader-averaged AUC with its own RRRC standard error (OR's single-modality estimate:
that modality's reader spread and Cov2), tested with df J - 1 too. At AUC 0.5 + margin (0.60) 0.029-0.037 of 2,000
null studies passed (5 x 120 and 10 x 300, non-inferiority and equivalence): within alpha, so the AUC test needed
no change; the called-real rate's 0.004-0.034 at the same sizes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

ENDPOINTS = {"called_real": "called-real rate difference (generator minus real)", "auc": "AUC (0.5 is chance)"}
TESTS = {"non_inferiority": "non-inferior", "equivalence": "equivalent"}
MIN_READERS_TO_GENERALISE = 3


class PlanError(ValueError):
    """An analysis plan that cannot be used; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Margin:
    """The pre-registered question: endpoint, test, margin in (0, 1), one-sided alpha in (0, 0.5)."""

    endpoint: str = "called_real"
    test: str = "non_inferiority"
    margin: float = 0.10
    alpha: float = 0.05

    def check(self) -> Margin:
        if self.endpoint not in ENDPOINTS:
            raise PlanError(f"The primary endpoint is one of {', '.join(ENDPOINTS)}, not {self.endpoint!r}.")
        if self.test not in TESTS:
            raise PlanError(f"The test is one of {', '.join(TESTS)}, not {self.test!r}.")
        if not (isinstance(self.margin, int | float) and 0 < self.margin < 1):
            raise PlanError(f"The margin must lie strictly between 0 and 1 (e.g. 0.10), not {self.margin!r}.")
        if not (isinstance(self.alpha, int | float) and 0 < self.alpha < 0.5):
            raise PlanError(f"Alpha (one-sided) must lie strictly between 0 and 0.5 (e.g. 0.05), not {self.alpha!r}.")
        return self

    @property
    def criterion(self) -> str:
        """The pass criterion in words, e.g. "called real at most 0.10 less often than the real images"."""
        if self.endpoint == "called_real":
            if self.test == "equivalence":
                return f"called-real rate within {self.margin:.2f} of the real images'"
            return f"called real at most {self.margin:.2f} less often than the real images"
        if self.test == "equivalence":
            return f"AUC within {self.margin:.2f} of 0.5 (between {0.5 - self.margin:.2f} and {0.5 + self.margin:.2f})"
        return f"AUC at most {0.5 + self.margin:.2f}"


@dataclass(frozen=True)
class Verdict:
    """One generator's answer: ``outcome`` "passes", "fails", "inconclusive" or "no test", and the sentence."""

    generator: str
    endpoint: str
    test: str
    analysis: str  # RRRC or FRRC
    estimate: float  # d: the rate difference (generator minus real) or the AUC
    se: float
    df: float | None
    ci_low: float  # the (1 - 2 alpha) interval of the estimate
    ci_high: float
    confidence: float  # 1 - 2 alpha
    p_value: float | None  # the largest one-sided p (TOST); None where there is no test
    power_at_zero: float | None  # the power against a true difference of 0 (AUC 0.5) with this standard error
    outcome: str
    sentence: str
    readers: int

    def as_dict(self) -> dict:
        return asdict(self)


def _t_sf(statistic: float, df: float | None) -> float:
    """P(T > statistic) for a t with df (None or infinite: normal)."""
    if df is None or not np.isfinite(df):
        return float(special.ndtr(-statistic))
    return float(special.stdtr(df, -statistic))


def _quantile(level: float, df: float | None) -> float:
    if df is None or not np.isfinite(df):
        return float(special.ndtri(level))
    return float(special.stdtrit(df, level))


def _cdf(value: float, df: float | None) -> float:
    return 1.0 - _t_sf(value, df)


def power_at_zero(margin: float, se: float, df: float | None, alpha: float, test: str) -> float | None:
    """The power of the test against a true difference of 0 (a generator exactly as real as the real images; AUC
    0.5), given this standard error and df: the noncentral t's for one test (normal without df); for the two of
    equivalence the shifted-t approximation P(T < shift - t) - P(T < t - shift)."""
    if not se > 0:
        return None
    shift = margin / se
    critical = _quantile(1 - alpha, df)
    if test == "equivalence":
        return max(0.0, _cdf(shift - critical, df) - _cdf(critical - shift, df))
    if df is None or not np.isfinite(df):
        return float(special.ndtr(shift - critical))
    return float(1.0 - special.nctdtr(df, shift, critical))


def verdict(generator: str, estimate: float, se: float, df: float | None, *, plan: Margin, analysis: str,
            readers: int) -> Verdict:
    """The test of one generator: ``estimate`` is the called-real difference (generator minus real) or the AUC,
    ``se`` and ``df`` (None: normal) from the MRMC analysis named ``analysis``."""
    plan.check()
    # d on a scale where passing means d > -margin (and, for equivalence, d < +margin)
    d = estimate if plan.endpoint == "called_real" else 0.5 - estimate
    critical = _quantile(1 - plan.alpha, df)
    level = 1 - 2 * plan.alpha
    half = critical * se if se > 0 else 0.0
    low, high = estimate - half, estimate + half
    common = dict(generator=generator, endpoint=plan.endpoint, test=plan.test, analysis=analysis,
                  estimate=float(estimate), se=float(se), df=None if df is None else float(df), ci_low=float(low),
                  ci_high=float(high), confidence=level, readers=readers)
    scope = analysis if readers >= MIN_READERS_TO_GENERALISE else f"{analysis}, {readers} readers: these readers only"
    if not (np.isfinite(estimate) and se > 0):
        return Verdict(**common, p_value=None, power_at_zero=None, outcome="no test",
                       sentence=(f"no test: the interval has zero width (every reader's figure agrees exactly), so "
                                 f"it says nothing about other cases ({scope})"))
    p_lower = _t_sf((d + plan.margin) / se, df)  # H0: d <= -margin
    p_upper = _t_sf((plan.margin - d) / se, df) if plan.test == "equivalence" else 0.0  # H0: d >= +margin
    p_value = max(p_lower, p_upper)
    power = power_at_zero(plan.margin, se, df, plan.alpha, plan.test)
    d_low, d_high = d - half, d + half
    word = TESTS[plan.test]
    if p_value < plan.alpha:
        outcome, sentence = "passes", f"passes ({word} within {plan.margin:.2f}, {scope})"
    elif d_high < -plan.margin or (plan.test == "equivalence" and d_low > plan.margin):
        outcome, sentence = "fails", f"fails (the whole interval lies beyond the margin {plan.margin:.2f}, {scope})"
    else:
        outcome = "inconclusive"
        sentence = (f"inconclusive: the interval crosses the margin {plan.margin:.2f} ({scope}; the power against a "
                    f"true difference of 0 was {power:.2f})")
    return Verdict(**common, p_value=p_value, power_at_zero=power, outcome=outcome, sentence=sentence)


def verdicts(mrmc: dict, plan: Margin, primary: list[str] | None = None) -> dict:
    """Each generator's verdict from the study's MRMC analysis (``StudyMrmc.as_dict()``): RRRC where that figure's
    analysis holds 3 readers or more, else FRRC (saying so). ``primary`` names the primary comparisons (None or
    empty: every generator). Returns ``{"plan": ..., "analysis": ..., "verdicts": [...], "note": ...}``."""
    plan.check()
    leads = mrmc.get("leads") or {}
    result = mrmc.get(plan.endpoint)
    out = {"plan": asdict(plan), "criterion": plan.criterion, "verdicts": [], "note": ""}
    if result is None:
        out["note"] = (mrmc.get("auc_note") if plan.endpoint == "auc" else mrmc.get("called_real_note")) or (
            "No analysis of the primary endpoint yet.")
        return out
    kind = leads.get(plan.endpoint, mrmc.get("lead", "RRRC"))
    out["analysis"] = kind
    readers = len(result["readers"])
    if plan.endpoint == "called_real":
        rows = [(row["first"], row["difference"], row["se"], row["df"]) for row in mrmc["vs_real"].get(kind, [])]
    else:
        rows = [(row["modality"], row["estimate"], row["se"], row["df"]) for row in result[kind]["modalities"]]
    wanted = set(primary or [])
    for name, estimate, se, _hillis_df in rows:
        if wanted and name not in wanted:
            continue
        df = readers - 1 if kind == "RRRC" else None  # J - 1 under RRRC (see the module's docstring)
        out["verdicts"].append(verdict(name, _number(estimate), _number(se), df, plan=plan, analysis=kind,
                                       readers=readers).as_dict())
    if kind == "FRRC":
        out["note"] = (f"With {readers} reader{'s' if readers != 1 else ''} in the analysis the test is FRRC: it "
                       "speaks for these readers only, reading other cases.")
    return out


def _number(value) -> float:
    return float("nan") if value is None else float(value)
