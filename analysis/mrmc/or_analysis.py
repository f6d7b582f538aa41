"""Obuchowski-Rockette (1995) analysis with Hillis's (2007) denominator degrees of freedom.

Input: a figure of merit per reader x modality, ``fom`` (R, M), and the covariance of those figures over cases,
``covariance`` (R, M, R, M) (jackknife or DeLong, see ``fom.py``). Output: the OR variance components and three
analyses, each saying what it generalises to:

* **RRRC** (random readers, random cases): readers and cases are samples; the answer is for other readers reading
  other cases. F = MS(T) / [MS(T*R) + J max(Cov2 - Cov3, 0)] with Hillis's ddf.
* **FRRC** (fixed readers, random cases): the answer is for these readers only, reading other cases. A chi-square test
  on MS(T) / [Var - Cov1 + (J - 1) max(Cov2 - Cov3, 0)]; normal (z) intervals; per-reader differences.
* **RRFC** (random readers, fixed cases): other readers reading these very cases. F = MS(T) / MS(T*R).

Notation follows Hillis (2007) and the OR-DBM MRMC software: I modalities (treatments), J readers; Var the mean error
variance of one figure, Cov1 the mean covariance of one reader's figures in two modalities, Cov2 of two readers in one
modality, Cov3 of two readers in two modalities. Pairwise differences use the global error term (as the reference
software does) unless ``pairwise="separate"``, which reruns the analysis on each pair alone (safer when modalities
differ in variance, e.g. the real images' called-real rate against a generator's).

Each modality's reader-averaged figure gets its own standard error, df and interval from that modality's MS(R), Var
and Cov2 alone (as RJafroc's per-treatment intervals): the rows a one-modality analysis still has (one generator's AUC
against 0.5), where there is no test between modalities.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy import special

from .fom import CovarianceSummary

GENERALISES_TO = {
    "RRRC": "other readers reading other cases (readers and cases both random)",
    "FRRC": "these readers only, reading other cases (readers fixed, cases random)",
    "RRFC": "other readers reading these same cases (readers random, cases fixed)",
}


@dataclass(frozen=True)
class VarianceComponents:
    """OR variance components and the ANOVA of the figures of merit (mean squares and their df)."""

    ms_t: float
    ms_r: float
    ms_tr: float
    df_t: int
    df_r: int
    df_tr: int
    var_r: float
    var_tr: float
    cov1: float
    cov2: float
    cov3: float
    var_error: float
    ms_r_per_modality: list[float]
    cov2_per_modality: list[float]
    var_error_per_modality: list[float]


@dataclass(frozen=True)
class GlobalTest:
    """The test that all modalities have the same figure: F (RRRC, RRFC) or chi-square (FRRC, ``df_den`` None)."""

    name: str
    statistic: float
    df_num: int
    df_den: float | None
    p_value: float
    error_term: float  # the denominator: MS(T*R) + J max(Cov2 - Cov3, 0) (RRRC), Var - Cov1 + (J - 1) max(...)
    # (FRRC), MS(T*R) (RRFC)
    no_test: str = ""  # why there is no test (statistic and p nan), e.g. identical modalities: error term 0


@dataclass(frozen=True)
class Difference:
    """first - second, with its standard error, df (None: normal), t or z, two-sided p and confidence interval."""

    first: str
    second: str
    difference: float
    se: float
    df: float | None
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    reader: str | None = None


@dataclass(frozen=True)
class ModalityEstimate:
    """A modality's reader-averaged figure with its standard error, df (None: normal) and confidence interval."""

    modality: str
    estimate: float
    se: float
    df: float | None
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Analysis:
    """One of RRRC, FRRC, RRFC."""

    kind: str
    generalises_to: str
    test: GlobalTest
    differences: list[Difference]
    modalities: list[ModalityEstimate]
    reader_differences: list[Difference] = field(default_factory=list)


@dataclass(frozen=True)
class OrResult:
    """Everything the OR analysis gives, JSON-ready through ``as_dict``."""

    readers: list[str]
    modalities: list[str]
    fom: np.ndarray  # (R, M)
    alpha: float
    components: VarianceComponents
    rrrc: Analysis | None  # None with one reader: nothing can be said about other readers
    frrc: Analysis
    rrfc: Analysis | None
    pairwise: str = "global"

    @property
    def reader_averaged(self) -> np.ndarray:
        return self.fom.mean(axis=0)

    def analysis(self, kind: str) -> Analysis | None:
        return {"RRRC": self.rrrc, "FRRC": self.frrc, "RRFC": self.rrfc}[kind]

    def as_dict(self) -> dict:
        """Plain data for JSON: numbers as floats, nan and infinity as None."""
        result = {
            "readers": self.readers, "modalities": self.modalities, "alpha": self.alpha, "pairwise": self.pairwise,
            "fom": {reader: dict(zip(self.modalities, map(float, row), strict=True))
                    for reader, row in zip(self.readers, self.fom, strict=True)},
            "reader_averaged": dict(zip(self.modalities, map(float, self.reader_averaged), strict=True)),
            "components": plain(self.components),
            "RRRC": _as_dict(self.rrrc), "FRRC": _as_dict(self.frrc), "RRFC": _as_dict(self.rrfc),
        }
        return json_ready(result)


def json_ready(value):
    """``value`` with numpy numbers as Python numbers and nan/inf as None (JSON has neither). The common plain types
    are tested first by exact type (the report holds tens of thousands of numbers at 300 readers)."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {key: json_ready(item) for key, item in value.items()}
    if kind is list:
        return [json_ready(item) for item in value]
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def _as_dict(analysis: Analysis | None) -> dict | None:
    return None if analysis is None else plain(analysis)


def plain(value):
    """Dataclasses as dicts, recursively, without ``dataclasses.asdict``'s deep copy of every leaf (which took most
    of the results' time at 300 readers: thousands of per-reader differences). The leaves, most of the calls, are
    told by their exact type first."""
    kind = type(value)
    if kind is float or kind is str or kind is int or value is None:
        return value
    fields = getattr(kind, "__dataclass_fields__", None)
    if fields is not None:
        return {name: plain(getattr(value, name)) for name in fields}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


# --- pieces ------------------------------------------------------------------------------------------------------

def _means(fom: np.ndarray) -> tuple[float, float, float, list[float]]:
    """MS(T), MS(R), MS(T*R) and each modality's MS(R) from the (R, M) figures (nan for the reader terms with one
    reader)."""
    readers, modalities = fom.shape
    grand = fom.mean()
    by_modality = fom.mean(axis=0)
    by_reader = fom.mean(axis=1)
    ms_t = readers * np.sum((by_modality - grand) ** 2) / (modalities - 1)
    if readers < 2:
        return float(ms_t), float("nan"), float("nan"), [float("nan")] * modalities
    ms_r = modalities * np.sum((by_reader - grand) ** 2) / (readers - 1)
    interaction = fom - by_modality[None, :] - by_reader[:, None] + grand
    ms_tr = np.sum(interaction**2) / ((modalities - 1) * (readers - 1))
    ms_r_each = np.sum((fom - by_modality[None, :]) ** 2, axis=0) / (readers - 1)
    return float(ms_t), float(ms_r), float(ms_tr), [float(value) for value in ms_r_each]


def _covariance_averages(covariance: CovarianceSummary) -> tuple[float, float, float, float, list[float],
                                                                 list[float]]:
    """Var, Cov1, Cov2, Cov3 (means over the matching pairs of figures) and each modality's Var and Cov2; Cov1 and
    Cov3 nan with one modality."""
    readers, modalities = covariance.same_reader.shape[:2]
    same = covariance.same_reader.sum(axis=0)  # (M, M): sum over readers of cov(r in m, r in n)
    others = covariance.total - same  # sum over pairs of different readers
    diagonal = np.eye(modalities, dtype=bool)
    var_each = np.diag(same) / readers
    cov2_each = np.diag(others) / (readers * (readers - 1)) if readers > 1 else np.zeros(modalities)
    var = float(var_each.mean())
    cov2 = float(cov2_each.mean()) if readers > 1 else 0.0
    if modalities < 2:  # Cov1 and Cov3 pair two modalities: one has none
        return var, float("nan"), cov2, float("nan"), [float(v) for v in var_each], [float(v) for v in cov2_each]
    cov1 = float(same[~diagonal].sum() / (readers * modalities * (modalities - 1)))
    pairs = readers * (readers - 1) * modalities * (modalities - 1)
    cov3 = float(others[~diagonal].sum() / pairs) if pairs else 0.0
    return var, cov1, cov2, cov3, [float(v) for v in var_each], [float(v) for v in cov2_each]


def _summary(covariance) -> CovarianceSummary:
    return covariance if isinstance(covariance, CovarianceSummary) else CovarianceSummary.from_matrix(covariance)


def variance_components(fom: np.ndarray, covariance: np.ndarray | CovarianceSummary) -> VarianceComponents:
    """The ANOVA of the figures and the OR components; Var(R) and Var(T*R) from their expected mean squares:
    E MS(T*R) = Var(T*R) + Var - Cov1 - Cov2 + Cov3,
    E MS(R) = I Var(R) + Var(T*R) + Var + (I - 1) Cov1 - Cov2 - (I - 1) Cov3,
    with Cov2 - Cov3 clamped at 0 in Var(T*R), as RJafroc (and the error terms below) do: the reported components
    then match RJafroc's, and F, ddf and p, which use MS(T*R) and the clamped covariances directly, do not change.

    With one modality there is no MS(T), MS(T*R), Cov1 or Cov3 (nan, df 0), and Var(R) and Var(T*R) cannot be told
    apart: ``var_r`` is then their sum, MS(R) - Var + Cov2 (E MS(R) = Var(R) + Var(T*R) + Var - Cov2 in one
    modality), ``var_tr`` nan."""
    fom = np.asarray(fom, dtype=float)
    readers, modalities = fom.shape
    if modalities == 1:
        return _one_modality_components(fom, _summary(covariance))
    ms_t, ms_r, ms_tr, ms_r_each = _means(fom)
    var, cov1, cov2, cov3, var_each, cov2_each = _covariance_averages(_summary(covariance))
    var_tr = ms_tr - var + cov1 + max(cov2 - cov3, 0.0)
    var_r = (ms_r - var_tr - var - (modalities - 1) * cov1 + cov2 + (modalities - 1) * cov3) / modalities
    return VarianceComponents(
        ms_t=ms_t, ms_r=ms_r, ms_tr=ms_tr, df_t=modalities - 1, df_r=readers - 1,
        df_tr=(modalities - 1) * (readers - 1), var_r=float(var_r), var_tr=float(var_tr), cov1=cov1, cov2=cov2,
        cov3=cov3, var_error=var, ms_r_per_modality=ms_r_each, cov2_per_modality=cov2_each,
        var_error_per_modality=var_each,
    )


def _one_modality_components(fom: np.ndarray, covariance: CovarianceSummary) -> VarianceComponents:
    readers = fom.shape[0]
    ms_r = float(np.sum((fom[:, 0] - fom[:, 0].mean()) ** 2) / (readers - 1)) if readers > 1 else float("nan")
    var, _, cov2, _, var_each, cov2_each = _covariance_averages(covariance)
    nan = float("nan")
    return VarianceComponents(
        ms_t=nan, ms_r=ms_r, ms_tr=nan, df_t=0, df_r=readers - 1, df_tr=0, var_r=ms_r - var + cov2, var_tr=nan,
        cov1=nan, cov2=cov2, cov3=nan, var_error=var, ms_r_per_modality=[ms_r], cov2_per_modality=cov2_each,
        var_error_per_modality=var_each,
    )


def _t_or_z(estimate: float, se: float, df: float | None, alpha: float) -> tuple[float, float, float, float]:
    """Statistic, two-sided p and the (1 - alpha) interval of an estimate with a t (df) or normal (df None).

    scipy.special's distribution functions directly: scipy.stats' frozen distributions cost a millisecond each to
    build, which dominated the whole analysis."""
    normal = df is None or not np.isfinite(df)
    if not se > 0:  # no spread at all (e.g. identical modalities): the interval is the point, and there is no test
        return float("nan"), float("nan"), float(estimate), float(estimate)
    statistic = estimate / se
    if normal:
        p_value = 2 * special.ndtr(-abs(statistic))
        quantile = special.ndtri(1 - alpha / 2)
    else:
        p_value = 2 * special.stdtr(df, -abs(statistic))
        quantile = special.stdtrit(df, 1 - alpha / 2)
    half = float(quantile) * se
    return float(statistic), float(p_value), float(estimate - half), float(estimate + half)


def _f_sf(statistic: float, df_num: float, df_den: float) -> float:
    """P(F > statistic); an infinite df_den is the chi-square limit."""
    if np.isinf(df_den):
        return float(special.chdtrc(df_num, statistic * df_num))
    return float(special.fdtrc(df_num, df_den, statistic))


def _hillis_df(error_term: float, ms: float, df_ms: int) -> float:
    """Satterthwaite-type df of ``error_term`` = ms + a non-negative covariance part: error_term^2 / (ms^2 / df_ms)."""
    if df_ms <= 0 or np.isnan(ms):
        return float("nan")
    if ms <= 0:
        return float("inf")
    return float(error_term**2 / (ms**2 / df_ms))


def _difference(labels: list[str], i: int, j: int, value: float, se: float, df: float | None, alpha: float,
                reader: str | None = None) -> Difference:
    statistic, p_value, low, high = _t_or_z(value, se, df, alpha)
    return Difference(first=labels[i], second=labels[j], difference=float(value), se=float(se),
                      df=None if df is None else float(df), statistic=statistic, p_value=p_value, ci_low=low,
                      ci_high=high, reader=reader)


def _estimate(label: str, value: float, se: float, df: float | None, alpha: float) -> ModalityEstimate:
    _, _, low, high = _t_or_z(value, se, df, alpha)
    return ModalityEstimate(modality=label, estimate=float(value), se=float(se), df=None if df is None else float(df),
                            ci_low=low, ci_high=high)


ONE_MODALITY = ("no comparison: there is only one modality (in a reader study, one generator), so there is nothing "
                "to compare it with; its reader-averaged figure has its own standard error and interval")
NO_TEST = ("no test: the error term is 0 (every reader's figures agree exactly across the modalities, e.g. identical "
           "modalities), so F would be infinite or undefined")


def _global_test(name: str, ms_t: float, df_t: int, error_term: float, df_den: float | None) -> GlobalTest:
    """F (``df_den`` a number) or chi-square (``df_den`` None: statistic ms_t df_t / error_term) of the modalities;
    no test (nan, with the reason) where the error term is 0 or undefined."""
    if not error_term > 0:
        return GlobalTest(name, float("nan"), df_t, df_den, float("nan"), float(error_term), no_test=NO_TEST)
    if df_den is None:
        statistic = ms_t * df_t / error_term
        return GlobalTest(name, float(statistic), df_t, None, float(special.chdtrc(df_t, statistic)), error_term)
    statistic = ms_t / error_term
    return GlobalTest(name, float(statistic), df_t, df_den, _f_sf(statistic, df_t, df_den), error_term)


# --- the three analyses ------------------------------------------------------------------------------------------

def _global_terms(c: VarianceComponents, readers: int) -> dict[str, float]:
    shared = max(c.cov2 - c.cov3, 0.0)
    return {
        "RRRC": c.ms_tr + readers * shared,
        "FRRC": c.var_error - c.cov1 + (readers - 1) * shared,
        "RRFC": c.ms_tr,
    }


def _modality_estimates(c: VarianceComponents, means: np.ndarray, n_readers: int, labels: list[str],
                        alpha: float) -> dict[str, list[ModalityEstimate]]:
    """Each modality's reader-averaged figure with its standard error, df and interval, per analysis, from that
    modality's own MS(R), Var and Cov2 only (as RJafroc's per-treatment intervals): RRRC se^2 = [MS(R) + J max(Cov2,
    0)] / J with Hillis's df, FRRC [Var + (J - 1) max(Cov2, 0)] / J (normal), RRFC MS(R) / J with df J - 1. Nothing
    of another modality enters, so a modality's rows are the same with or without the others (given the same
    covariance of its own figures)."""
    out: dict[str, list[ModalityEstimate]] = {"RRRC": [], "FRRC": [], "RRFC": []}
    for m, label in enumerate(labels):
        ms_r_m, cov2_m, var_m = c.ms_r_per_modality[m], c.cov2_per_modality[m], c.var_error_per_modality[m]
        term = ms_r_m + n_readers * max(cov2_m, 0.0)
        df_m = _hillis_df(term, ms_r_m, n_readers - 1)
        out["RRRC"].append(_estimate(label, means[m], np.sqrt(term / n_readers), df_m, alpha))
        frrc_term = var_m + (n_readers - 1) * max(cov2_m, 0.0)
        out["FRRC"].append(_estimate(label, means[m], np.sqrt(frrc_term / n_readers), None, alpha))
        out["RRFC"].append(_estimate(label, means[m], np.sqrt(ms_r_m / n_readers), n_readers - 1, alpha))
    return out


def _one_modality(fom: np.ndarray, covariance: CovarianceSummary, readers: list[str], modalities: list[str],
                  alpha: float, pairwise: str) -> OrResult:
    """One modality: its figure's rows in each analysis, and no test or difference (``ONE_MODALITY`` says why)."""
    c = variance_components(fom, covariance)
    estimates = _modality_estimates(c, fom.mean(axis=0), fom.shape[0], modalities, alpha)
    nan = float("nan")

    def analysis(kind: str, name: str, df_den: float | None) -> Analysis:
        return Analysis(kind=kind, generalises_to=GENERALISES_TO[kind],
                        test=GlobalTest(name, nan, 0, df_den, nan, nan, no_test=ONE_MODALITY), differences=[],
                        modalities=estimates[kind])

    single = fom.shape[0] < 2
    return OrResult(readers=list(readers), modalities=list(modalities), fom=fom, alpha=alpha, components=c,
                    rrrc=None if single else analysis("RRRC", "F", nan), frrc=analysis("FRRC", "X2", None),
                    rrfc=None if single else analysis("RRFC", "F", nan), pairwise=pairwise)


def _pair_terms(fom: np.ndarray, covariance: CovarianceSummary, i: int, j: int, pairwise: str,
                global_c: VarianceComponents) -> tuple[VarianceComponents, dict[str, float]]:
    if pairwise == "separate" and fom.shape[1] > 2:
        index = [i, j]
        c = variance_components(fom[:, index], covariance.subset(index))
    else:
        c = global_c
    return c, _global_terms(c, fom.shape[0])


def or_analysis(fom: np.ndarray, covariance: np.ndarray | CovarianceSummary, *, readers: list[str] | None = None,
                modalities: list[str] | None = None, alpha: float = 0.05, pairwise: str = "global",
                per_reader: bool = True) -> OrResult:
    """The full OR analysis of figures ``fom`` (R, M) with covariance ``covariance`` (R, M, R, M), or its
    ``CovarianceSummary`` (all the analysis uses; ``fom.jackknife_summary`` computes it without the full matrix).

    With one reader only FRRC is possible (``rrrc`` and ``rrfc`` are None). Every pair (i < j) of modalities gets
    a difference ``modality i - modality j``. With one modality there is nothing to compare: each analysis holds
    that modality's row (its figure against a fixed value, e.g. an AUC against 0.5) and a test with ``no_test``
    saying why there is none. ``pairwise`` is "global" (the error term of all modalities, as the
    reference software) or "separate" (each pair analysed on its own). ``per_reader`` False leaves out FRRC's
    per-reader differences (R x pairs rows nobody reads where only the reader-averaged figures are wanted)."""
    fom = np.asarray(fom, dtype=float)
    n_readers, n_modalities = fom.shape
    if n_modalities < 1:
        raise ValueError("The OR analysis needs at least one modality.")
    if not isinstance(covariance, CovarianceSummary):
        covariance = np.asarray(covariance, dtype=float)
        if covariance.shape != (n_readers, n_modalities, n_readers, n_modalities):
            raise ValueError(f"covariance has shape {covariance.shape}, expected {(*fom.shape, *fom.shape)}.")
    covariance = _summary(covariance)
    if covariance.same_reader.shape != (n_readers, n_modalities, n_modalities):
        raise ValueError("The covariance summary does not match the figures' readers and modalities.")
    if not np.all(np.isfinite(fom)):
        raise ValueError("Every reader needs a figure of merit in every modality.")
    if pairwise not in ("global", "separate"):
        raise ValueError("pairwise is 'global' or 'separate'.")
    readers = readers or [str(r) for r in range(n_readers)]
    modalities = modalities or [str(m) for m in range(n_modalities)]
    if n_modalities == 1:
        return _one_modality(fom, covariance, readers, modalities, alpha, pairwise)
    c = variance_components(fom, covariance)
    terms = _global_terms(c, n_readers)
    means = fom.mean(axis=0)
    pairs = list(combinations(range(n_modalities), 2))

    # RRRC
    rrrc_df = _hillis_df(terms["RRRC"], c.ms_tr, c.df_tr)
    rrrc_differences = []
    frrc_differences = []
    rrfc_differences = []
    for i, j in pairs:
        pc, pterms = _pair_terms(fom, covariance, i, j, pairwise, c)
        value = means[i] - means[j]
        df = _hillis_df(pterms["RRRC"], pc.ms_tr, pc.df_tr)
        rrrc_differences.append(_difference(modalities, i, j, value, np.sqrt(2 * pterms["RRRC"] / n_readers), df,
                                            alpha))
        frrc_differences.append(_difference(modalities, i, j, value, np.sqrt(2 * pterms["FRRC"] / n_readers), None,
                                            alpha))
        rrfc_differences.append(_difference(modalities, i, j, value, np.sqrt(2 * pterms["RRFC"] / n_readers),
                                            pc.df_tr, alpha))
    estimates = _modality_estimates(c, means, n_readers, modalities, alpha)

    reader_differences = []
    for i, j in pairs if per_reader else []:
        for r in range(n_readers):
            own = covariance.same_reader[r]
            var_diff = own[i, i] + own[j, j] - 2 * own[i, j]
            reader_differences.append(_difference(modalities, i, j, fom[r, i] - fom[r, j],
                                                  np.sqrt(max(var_diff, 0.0)), None, alpha, reader=readers[r]))

    single = n_readers < 2
    rrrc = None if single else Analysis(
        kind="RRRC", generalises_to=GENERALISES_TO["RRRC"],
        test=_global_test("F", c.ms_t, c.df_t, terms["RRRC"], rrrc_df),
        differences=rrrc_differences, modalities=estimates["RRRC"])
    frrc = Analysis(
        kind="FRRC", generalises_to=GENERALISES_TO["FRRC"],
        test=_global_test("X2", c.ms_t, c.df_t, terms["FRRC"], None),
        differences=frrc_differences, modalities=estimates["FRRC"], reader_differences=reader_differences)
    rrfc = None if single else Analysis(
        kind="RRFC", generalises_to=GENERALISES_TO["RRFC"],
        test=_global_test("F", c.ms_t, c.df_t, terms["RRFC"], float(c.df_tr)),
        differences=rrfc_differences, modalities=estimates["RRFC"])
    return OrResult(readers=list(readers), modalities=list(modalities), fom=fom, alpha=alpha, components=c,
                    rrrc=rrrc, frrc=frrc, rrfc=rrfc, pairwise=pairwise)
