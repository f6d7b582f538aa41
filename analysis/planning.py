"""Planning the next study from this one's variance (Hillis, Obuchowski & Berbaum 2011): for each figure of merit of
the MRMC analysis, the power of the comparison of two generators with this study's readers and cases, and the cases
(for several numbers of readers) and readers needed for 80% power. Pure (no Django); the arithmetic is
``mrmc.power``'s."""
from __future__ import annotations

from .mrmc.or_analysis import OrResult
from .mrmc.power import PilotComponents, cases_needed, power, readers_needed

TARGET = 0.8
ALPHA = 0.05
EFFECTS = {"called_real": 0.10, "auc": 0.05}  # a 10-point difference in called-real rate; 0.05 in AUC
READER_COUNTS = (3, 5, 10, 20)
MAX_CASES = 100_000


def plan(result: OrResult | None, n_cases: int, figure: str, analysis: str = "RRRC") -> dict | None:
    """Power and sample size for ``figure`` ("called_real" or "auc") from ``result``'s components on ``n_cases``
    cases, for ``analysis``: RRRC by default, since a planned study should speak for readers beyond its own (a
    pilot with two readers still estimates Var(T*R), if roughly). None without an analysis of two readers or more,
    or of one modality (one generator's AUC: no Var(T*R), Cov1 or Cov3 to plan a comparison of two with)."""
    if result is None or n_cases < 2 or len(result.readers) < 2 or len(result.modalities) < 2:
        return None
    pilot = PilotComponents.from_components(result.components, n_cases)
    effect = EFFECTS[figure]
    readers = len(result.readers)
    try:
        pilot.check()
        now = power(pilot, readers=max(readers, 2), cases=n_cases, effect_size=effect, alpha=ALPHA,
                    analysis=analysis)
    except ValueError as error:
        return {"figure": figure, "note": f"No power calculation: {error}"}
    more_readers = readers_needed(pilot, cases=n_cases, effect_size=effect, target=TARGET, alpha=ALPHA,
                                  analysis=analysis)
    rows = []
    for count in READER_COUNTS:
        found = cases_needed(pilot, readers=count, effect_size=effect, target=TARGET, alpha=ALPHA, analysis=analysis,
                             max_cases=MAX_CASES)
        rows.append({"readers": count, "cases": None if found is None else found.cases})
    return {
        "figure": figure, "analysis": analysis, "effect_size": effect, "alpha": ALPHA, "target": TARGET,
        "readers": readers, "cases": n_cases, "power": now.power,
        "readers_needed": None if more_readers is None else more_readers.readers,
        "cases_needed": rows,
        "note": (f"From this study's OR variance components ({n_cases} cases, {readers} readers): the power to find "
                 f"a difference of {effect:g} between two generators, and what {TARGET:.0%} power would take"
                 + ("." if more_readers is not None else
                    f"; with {n_cases} cases no number of readers reaches it (not reachable: with random readers the "
                    "cases' share of the error sets a ceiling; more cases are needed).")),
    }
