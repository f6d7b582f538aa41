"""The study's pre-registered analysis plan: set while the study is a draft, frozen by opening, audited; what the
results test against it (``analysis.equivalence``) and the set-up's proposal of readers x cases for it."""
from __future__ import annotations

from dataclasses import asdict

from django.db import transaction

from analysis.equivalence import Margin, PlanError, verdicts
from analysis.equivalence_power import PILOTS, READER_COUNTS, TARGET_POWER, proposal_rows, simulated_pilot
from analysis.equivalence_power import cases_needed as cases_for_plan
from readerstudy.errors import ApplicationError, Conflict
from readerstudy.studies.models import Study
from readerstudy.studies.services import audit

from .models import AnalysisPlan

FIELDS = ("endpoint", "test", "margin", "alpha")


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


def cases_for_power(endpoint: str, margin: float, alpha: float, readers: int,
                    test: str = "non_inferiority") -> int | None:
    """The fewest cases (real + one generator's fakes) giving 80% power to pass a generator truly as real as the real
    images with ``readers`` readers, for the very test the verdict runs (``analysis.equivalence_power``), or None
    where no number of cases reaches it. The one rule behind the proposal's rows and the planned-size check
    (``planned_size``)."""
    plan = Margin(endpoint=endpoint, test=test, margin=margin, alpha=alpha).check()
    return cases_for_plan(simulated_pilot(endpoint), plan, readers)


def proposal(endpoint: str, margin: float, alpha: float, test: str = "non_inferiority") -> dict:
    """Readers x cases for the plan: for each number of readers, the cases (real + one generator's fakes) that give
    80% power to pass a generator truly as real as the real images, for the very test the verdict runs (RRRC, df
    J - 1, one-sided alpha; both one-sided tests for equivalence), from the named pilot's components
    (``analysis.equivalence_power``; checked against simulated studies in ``bench/bench_equivalence.py``)."""
    try:
        plan = Margin(endpoint=endpoint, test=test, margin=margin, alpha=alpha).check()
    except PlanError as error:
        return {"rows": [], "pilot": "", "note": str(error)}
    pilot = simulated_pilot(endpoint)
    rows = [{"readers": row["readers"], "cases": row["cases"]} for row in proposal_rows(pilot, plan, READER_COUNTS)]
    return {"rows": rows, "pilot": PILOTS[endpoint], "components": asdict(pilot),
            "note": (f"Cases needed for {TARGET_POWER:.0%} power to pass a generator truly as real as the real images "
                     f"({plan.criterion}, one-sided alpha {alpha:g}, RRRC), from {PILOTS[endpoint]}; 'not reachable' "
                     "means more readers are needed, whatever the cases: readers differ, and only more of them "
                     "average that out. A pilot of your own is better.")}


def proposal_for(plan: AnalysisPlan | None) -> dict | None:
    """``proposal`` for a stored plan (None without one)."""
    return None if plan is None else proposal(plan.endpoint, plan.margin, plan.alpha, plan.test)
