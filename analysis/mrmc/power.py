"""Power and sample size for an MRMC study from OR variance components (Hillis, Obuchowski & Berbaum 2011).

Given a pilot's (or a running study's) components Var(T*R), Var(error), Cov1, Cov2, Cov3, estimated on K* cases, and
an effect size d (the difference of two modalities' reader-averaged figures), the planned study with J readers and K
cases has, for the RRRC test (HOB 2011, eq. 10),

    den = Var(T*R) + (K*/K) [Var - Cov1 + (J - 1) max(Cov2 - Cov3, 0)]
    ncp = J d^2 / (2 den)
    ddf = den^2 / ([Var(T*R) + (K*/K) (Var - Cov1 - max(Cov2 - Cov3, 0))]^2 / (J - 1))
    power = P(F(1, ddf; ncp) > F_{1-alpha}(1, ddf))

(the error covariances shrink as 1/K; Var(T*R) is floored at 0). FRRC: ncp = J d^2 / (2 (K*/K) [Var - Cov1 + (J - 1)
max(Cov2 - Cov3, 0)]) on a chi-square with 1 df. RRFC: den = Var(T*R) + (K*/K)(Var - Cov1 - Cov2 + Cov3), F(1, J - 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .or_analysis import VarianceComponents

ANALYSES = ("RRRC", "FRRC", "RRFC")


@dataclass(frozen=True)
class PilotComponents:
    """The OR components that power depends on, and the number of cases they were estimated on."""

    var_tr: float
    var_error: float
    cov1: float
    cov2: float
    cov3: float
    n_cases: int

    @classmethod
    def from_components(cls, components: VarianceComponents, n_cases: int) -> PilotComponents:
        return cls(var_tr=components.var_tr, var_error=components.var_error, cov1=components.cov1,
                   cov2=components.cov2, cov3=components.cov3, n_cases=n_cases)

    def check(self) -> None:
        if self.n_cases < 2:
            raise ValueError("The pilot's number of cases must be at least 2.")
        if self.var_error <= 0:
            raise ValueError("Var(error) must be positive.")
        if self.var_error - self.cov1 + max(self.cov2 - self.cov3, 0.0) <= 0 and max(self.var_tr, 0.0) <= 0:
            raise ValueError("These components give a zero error variance: Var(error) must exceed Cov1.")


@dataclass(frozen=True)
class Power:
    analysis: str
    readers: int
    cases: int
    effect_size: float
    alpha: float
    power: float
    noncentrality: float
    df_den: float | None  # None: chi-square (FRRC)


def power(pilot: PilotComponents, *, readers: int, cases: int, effect_size: float, alpha: float = 0.05,
          analysis: str = "RRRC") -> Power:
    """The power of the two-modality test with ``readers`` readers and ``cases`` cases."""
    if analysis not in ANALYSES:
        raise ValueError(f"analysis is one of {', '.join(ANALYSES)}.")
    if readers < 2 or cases < 2:
        raise ValueError("A planned study needs at least 2 readers and 2 cases.")
    pilot.check()
    scale = pilot.n_cases / cases
    var_tr = max(pilot.var_tr, 0.0)
    shared = max(pilot.cov2 - pilot.cov3, 0.0)
    d2 = effect_size**2
    if analysis == "RRRC":
        den = var_tr + scale * (pilot.var_error - pilot.cov1 + (readers - 1) * shared)
        ms_tr = var_tr + scale * (pilot.var_error - pilot.cov1 - shared)
        ddf = den**2 / (ms_tr**2 / (readers - 1)) if ms_tr > 0 else np.inf
        ncp = readers * d2 / (2 * den)
        value = _f_power(ncp, ddf, alpha)
        return Power(analysis, readers, cases, effect_size, alpha, value, float(ncp), float(ddf))
    if analysis == "FRRC":
        den = scale * (pilot.var_error - pilot.cov1 + (readers - 1) * shared)
        ncp = readers * d2 / (2 * den)
        return Power(analysis, readers, cases, effect_size, alpha, _chi2_power(ncp, alpha), float(ncp), None)
    den = var_tr + scale * (pilot.var_error - pilot.cov1 - pilot.cov2 + pilot.cov3)
    ncp = readers * d2 / (2 * den)
    return Power(analysis, readers, cases, effect_size, alpha, _f_power(ncp, readers - 1, alpha), float(ncp),
                 float(readers - 1))


def _chi2_power(ncp: float, alpha: float) -> float:
    critical = stats.chi2.ppf(1 - alpha, 1)
    return float(stats.ncx2.sf(critical, 1, ncp)) if ncp > 0 else alpha


def _f_power(ncp: float, ddf: float, alpha: float) -> float:
    """Noncentral F power; scipy's ``ncf`` misbehaves at ncp = 0 (it returned -0.95), where the power is alpha."""
    if not np.isfinite(ddf):
        return _chi2_power(ncp, alpha)
    if ncp <= 0:
        return alpha
    critical = stats.f.ppf(1 - alpha, 1, ddf)
    return float(np.clip(stats.ncf.sf(critical, 1, ddf, ncp), 0.0, 1.0))


def cases_needed(pilot: PilotComponents, *, readers: int, effect_size: float, target: float = 0.8,
                 alpha: float = 0.05, analysis: str = "RRRC", max_cases: int = 1_000_000) -> Power | None:
    """The fewest cases giving at least ``target`` power with ``readers`` readers (power grows with the cases, so a
    bisection finds it), or None when even ``max_cases`` fall short: with random readers, Var(T*R) sets a ceiling
    that no number of cases passes."""
    def at(cases: int) -> Power:
        return power(pilot, readers=readers, cases=cases, effect_size=effect_size, alpha=alpha, analysis=analysis)

    if at(max_cases).power < target:
        return None
    low, high = 2, max_cases
    if at(low).power >= target:
        return at(low)
    while high - low > 1:
        middle = (low + high) // 2
        if at(middle).power >= target:
            high = middle
        else:
            low = middle
    return at(high)


def readers_needed(pilot: PilotComponents, *, cases: int, effect_size: float, target: float = 0.8,
                   alpha: float = 0.05, analysis: str = "RRRC", max_readers: int = 200) -> Power | None:
    """The fewest readers giving at least ``target`` power with ``cases`` cases, or None up to ``max_readers``."""
    for readers in range(2, max_readers + 1):
        result = power(pilot, readers=readers, cases=cases, effect_size=effect_size, alpha=alpha, analysis=analysis)
        if result.power >= target:
            return result
    return None


def sample_size_table(pilot: PilotComponents, *, effect_size: float, readers: list[int], target: float = 0.8,
                      alpha: float = 0.05, analysis: str = "RRRC") -> list[dict]:
    """For each number of readers, the cases needed for ``target`` power (None: not reachable)."""
    rows = []
    for count in readers:
        found = cases_needed(pilot, readers=count, effect_size=effect_size, target=target, alpha=alpha,
                             analysis=analysis)
        rows.append({"readers": count, "cases": None if found is None else found.cases,
                     "power": None if found is None else found.power})
    return rows
