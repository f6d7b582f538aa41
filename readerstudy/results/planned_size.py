"""The study's planned size (``Study.planned_readers`` x ``planned_cases``) against what its registered analysis plan
needs: the one rule behind the plan page's "Adopt" and the study home's check, so the two always agree.

The planned size is not frozen by opening (the study home's form changes it at any time, audited), so adopting a
proposal is not either; the analysis plan itself is frozen, and only a registered plan's proposal can be adopted.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from readerstudy.errors import ApplicationError, Conflict
from readerstudy.studies.models import Study
from readerstudy.studies.services import study_plan_update

from .analysis_plan import READER_COUNTS, TARGET_POWER, cases_for_power, plan_for
from .models import AnalysisPlan

MIN_READERS = 2  # the RRRC test's reader variance needs two


@dataclass(frozen=True)
class PlannedSizeCheck:
    """The planned size beside what the registered plan needs at the planned number of readers."""

    readers: int | None
    cases: int | None
    needed_cases: int | None  # at ``readers`` for the plan's power; None: not planned, too few readers, or unreachable
    short: bool  # a planned size the registered plan says is underpowered
    sentence: str


def _plan_words(plan: AnalysisPlan) -> str:
    what = "AUC" if plan.endpoint == AnalysisPlan.Endpoint.AUC else "called-real rate"
    return f"the registered plan ({what}, margin {plan.margin:g}, one-sided alpha {plan.alpha:g})"


def planned_size_check(study: Study, plan: AnalysisPlan | None = None) -> PlannedSizeCheck | None:
    """How the planned size compares with the registered plan's need; None while no plan is registered."""
    plan = plan or plan_for(study)
    if plan is None:
        return None
    readers, cases, words = study.planned_readers, study.planned_cases, _plan_words(plan)
    if not (readers and cases):
        return PlannedSizeCheck(readers, cases, None, False,
                                f"No planned size yet: adopt one of the readers x cases {words} proposes on the "
                                "analysis plan page.")
    planned = f"Planned {readers} reader{'s' if readers != 1 else ''} x {cases} cases"
    if readers < MIN_READERS:
        return PlannedSizeCheck(readers, cases, None, True,
                                f"{planned}, too few: {words} is tested with at least {MIN_READERS} readers.")
    needed = cases_for_power(plan.endpoint, plan.margin, plan.alpha, readers, plan.test)
    if needed is None:
        return PlannedSizeCheck(readers, cases, None, True,
                                f"{planned} falls short: with {readers} readers no number of cases gives {words} "
                                f"{TARGET_POWER:.0%} power; plan more readers.")
    if cases < needed:
        return PlannedSizeCheck(readers, cases, needed, True,
                                f"{planned} falls short: {words} needs {needed} cases at {readers} readers for "
                                f"{TARGET_POWER:.0%} power.")
    return PlannedSizeCheck(readers, cases, needed, False,
                            f"{planned}; {words} needs {needed} cases at {readers} readers for {TARGET_POWER:.0%} "
                            "power.")


def planned_size_adopt(study: Study, actor, *, readers: int) -> Study:
    """Make a row of the registered plan's proposal the study's planned size: ``readers`` and the cases the plan
    needs with them, computed here (never taken from the request), recorded and audited by ``study_plan_update`` as
    the study home's form is. Refused, with nothing stored: without a registered plan, for a number of readers the
    proposal does not offer, where no number of cases reaches the power with them."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)  # as plan_set: the plan cannot change meanwhile
        plan = plan_for(locked)
        if plan is None:
            raise Conflict("Register the analysis plan first: only a registered plan's proposal can be adopted as "
                           "the planned size.", field="plan")
        if readers not in READER_COUNTS:
            raise ApplicationError(f"Adopt one of the proposal's rows: {', '.join(map(str, READER_COUNTS))} readers.",
                                   field="readers")
        cases = cases_for_power(plan.endpoint, plan.margin, plan.alpha, readers, plan.test)
        if cases is None:
            raise Conflict(f"With {readers} readers no number of cases gives {_plan_words(plan)} "
                           f"{TARGET_POWER:.0%} power: adopt a row with more readers.", field="readers")
        study_plan_update(locked, actor, readers=readers, cases=cases)
    study.planned_readers, study.planned_cases = locked.planned_readers, locked.planned_cases
    return study
