"""The study's pre-registered analysis plan: set while the study is a draft, frozen by opening, audited; what the
results test against it (``analysis.equivalence``) and the set-up's proposal of readers x cases for it."""
from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache

import numpy as np
from django.db import transaction

from analysis.equivalence import Margin, PlanError, verdicts
from analysis.mrmc.power import PilotComponents, cases_needed
from analysis.mrmc.simulate import SimulationConfig, simulate_study
from analysis.mrmc.study import study_mrmc
from readerstudy.errors import ApplicationError, Conflict
from readerstudy.studies.models import Study
from readerstudy.studies.services import audit

from .models import AnalysisPlan

FIELDS = ("endpoint", "test", "margin", "alpha")
TARGET_POWER = 0.8
READER_COUNTS = (3, 5, 8, 10, 15, 20)
# The Van Dyke et al. (1993) pilot's OR components (5 readers, 114 cases; tests/data/vandyke-reference.md), the
# literature default for an AUC endpoint in RJafroc's and Hillis's sample-size examples.
VANDYKE_AUC = PilotComponents(var_tr=0.00020040, var_error=0.00080229, cov1=0.00034661, cov2=0.00034407,
                              cov3=0.00023903, n_cases=114)
PILOTS = {
    "auc": "Van Dyke et al. (1993) pilot (5 readers, 114 cases): the literature default for an AUC",
    "called_real": "the project's reader simulator at its defaults (analysis/mrmc/simulate.py: a generator as often "
                   "called real as the real images, 20 readers, 200 cases)",
}


def plan_for(study: Study) -> AnalysisPlan | None:
    return AnalysisPlan.objects.filter(study=study).prefetch_related("primary").first()


def plan_data(plan: AnalysisPlan | None) -> dict | None:
    if plan is None:
        return None
    return {"endpoint": plan.endpoint, "test": plan.test, "margin": plan.margin, "alpha": plan.alpha,
            "primary": [source.name for source in plan.primary.all()],
            "registered_at": plan.registered_at.isoformat() if plan.registered_at else None}


def plan_set(study: Study, actor, *, endpoint: str, test: str, margin: float, alpha: float,
             primary: list[str] | None = None) -> AnalysisPlan:
    """Register (or, while the study is a draft, change) the plan. Refused, with nothing stored: after opening (the
    plan is pre-registered), a margin or alpha out of range, an AUC endpoint in a study that asks no confidence, a
    primary comparison that is not one of the study's generators. Each changed field is audited."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status != Study.Status.DRAFT:
            raise Conflict(f"The analysis plan was frozen when the study opened ({_when(locked)}): a pre-registered "
                           "plan cannot change after reading starts. Report any departure from it as a deviation "
                           "in the paper.", field="plan")
        try:
            Margin(endpoint=endpoint, test=test, margin=margin, alpha=alpha).check()
        except PlanError as error:
            raise ApplicationError(str(error), field=_field_of(str(error))) from None
        if endpoint == AnalysisPlan.Endpoint.AUC and not locked.ask_confidence:
            raise ApplicationError("The AUC needs confidence ratings and this study does not ask for them: choose the "
                                   "called-real rate, or switch on 'ask confidence' in the protocol first.",
                                   field="endpoint")
        generators = {source.name: source for source in locked.sources.filter(is_real=False)}
        unknown = [name for name in primary or [] if name not in generators]
        if unknown:
            raise ApplicationError(f"Not a generator of this study: {', '.join(unknown)}. The primary comparisons "
                                   f"are among {', '.join(sorted(generators)) or 'none yet'}.", field="primary")
        plan = AnalysisPlan.objects.filter(study=locked).first()
        old = plan_data(plan) or {}
        if plan is None:
            plan = AnalysisPlan(study=locked)
        plan.endpoint, plan.test, plan.margin, plan.alpha, plan.registered_by = endpoint, test, margin, alpha, actor
        plan.save()
        plan.primary.set([generators[name] for name in primary or []])
        new = plan_data(plan)
        for field in (*FIELDS, "primary"):
            if old.get(field) != new[field]:
                audit(locked, actor, "analysis_plan", field, _shown(old.get(field)), _shown(new[field]))
    return plan


def _shown(value) -> str:
    if value is None:
        return ""
    return ", ".join(value) if isinstance(value, list) else str(value)


def _field_of(message: str) -> str:
    for field in ("margin", "alpha", "endpoint", "test"):
        if field in message.lower():
            return field
    return "plan"


def _when(study: Study) -> str:
    return f"{study.opened_at:%Y-%m-%d %H:%M} UTC" if study.opened_at else "already"


def margin_of(plan: AnalysisPlan) -> Margin:
    return Margin(endpoint=plan.endpoint, test=plan.test, margin=plan.margin, alpha=plan.alpha)


def equivalence_report(study: Study, plan: AnalysisPlan | None, mrmc: dict) -> dict | None:
    """The plan's verdicts for the report (``analysis.equivalence.verdicts``) with the plan itself and whether it was
    registered before the study opened (a plan changed after opening is named as a deviation)."""
    if plan is None:
        return None
    found = verdicts(mrmc, margin_of(plan), [source.name for source in plan.primary.all()])
    found["registered"] = plan_data(plan)
    late = study.opened_at is not None and plan.registered_at > study.opened_at
    found["deviation"] = (f"The plan was changed after the study opened ({plan.registered_at:%Y-%m-%d %H:%M} UTC, "
                          "after opening): this analysis is a deviation from the pre-registered plan.") if late else ""
    return found


@lru_cache(maxsize=1)
def _simulated_called_real_pilot() -> PilotComponents:
    """OR components of the called-real difference (Real vs one generator at the same rate) from one large
    simulated study at the simulator's defaults: computed, not typed in, and fixed by the seed."""
    config = SimulationConfig(n_readers=20, n_real=100, n_fake=100, separations=(0.6,))
    study = simulate_study(config, 26)
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, np.full(len(study.reader), np.nan),
                        readers=study.readers, sources=config.sources, source_is_real=config.source_is_real)
    return PilotComponents.from_components(result.called_real.components, config.n_real + config.n_fake)


def _pilot(endpoint: str) -> PilotComponents:
    return VANDYKE_AUC if endpoint == "auc" else _simulated_called_real_pilot()


def cases_for_power(endpoint: str, margin: float, alpha: float, readers: int) -> int | None:
    """The fewest cases giving 80% power to pass a generator whose true difference is 0 with ``readers`` readers
    (RRRC, one-sided ``alpha``: the two-sided test at 2 alpha), or None where no number of cases reaches it. The one
    rule behind the proposal's rows and the planned-size check (``planned_size``). At least 2 readers."""
    found = cases_needed(_pilot(endpoint), readers=readers, effect_size=margin, target=TARGET_POWER, alpha=2 * alpha,
                         max_cases=20_000)
    return None if found is None else found.cases


def proposal(endpoint: str, margin: float, alpha: float) -> dict:
    """Readers x cases for the plan: for each number of readers, the cases that give 80% power to pass a generator
    whose true difference is 0, from the named pilot's components (``cases_for_power``). Approximate: the verdict's
    df (J - 1) is more cautious than the power module's Hillis df."""
    try:
        Margin(endpoint=endpoint, margin=margin, alpha=alpha).check()
    except PlanError as error:
        return {"rows": [], "pilot": "", "note": str(error)}
    rows = [{"readers": readers, "cases": cases_for_power(endpoint, margin, alpha, readers)}
            for readers in READER_COUNTS]
    return {"rows": rows, "pilot": PILOTS[endpoint], "components": asdict(_pilot(endpoint)),
            "note": (f"Cases needed for {TARGET_POWER:.0%} power to pass a generator truly as real as the real images "
                     f"(margin {margin:g}, one-sided alpha {alpha:g}, RRRC), from {PILOTS[endpoint]}; 'not reachable' "
                     "means more readers are needed, whatever the cases. Approximate: a pilot of your own is better.")}
