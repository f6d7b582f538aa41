"""The set-up checklist of a study's home: what is done, what is next, each item with the page that does it.

A fixed number of queries whatever the size of the study (counts and existence tests only).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from readerstudy.batches.models import Batch
from readerstudy.reading import lifecycle
from readerstudy.reading.services import ProtocolError, protocol_for, validate_protocol
from readerstudy.results.analysis_plan import plan_for
from readerstudy.results.planned_size import PlannedSizeCheck, planned_size_check
from readerstudy.studies.models import Case, Membership, Study
from readerstudy.studies.selectors import usable_invitations


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    done: bool
    detail: str
    url: str
    action: str  # what to do next on that page


def checklist(study: Study) -> list[Item]:
    slug = {"slug": study.slug}
    batches = list(Batch.objects.filter(study=study, status=Batch.Status.DONE).values_list("audit", flat=True))
    n_cases = Case.objects.filter(study=study).included().count()
    audited = sum(1 for audit in batches if audit)
    if not batches:
        batch_detail = "No batch imported yet."
    else:
        batch_detail = (f"{n_cases} case{'s' if n_cases != 1 else ''} from {len(batches)} batch"
                        f"{'es' if len(batches) != 1 else ''}; {audited} with a generation audit.")
    n_readers = Membership.objects.filter(study=study).count()
    n_links = usable_invitations(study).count()
    planned = f" of {study.planned_readers} planned" if study.planned_readers else ""
    try:
        validate_protocol(study, protocol_for(study))
        protocol_problem = ""
    except ProtocolError as exc:
        protocol_problem = exc.message
    analysis_plan = plan_for(study)
    claim_registered = analysis_plan is not None
    power = _power_item(study, planned_size_check(study, analysis_plan))
    return [
        Item("batch", "Batch imported and audited", bool(batches) and audited == len(batches), batch_detail,
             reverse("batch_list", kwargs=slug),
             "Upload a batch zip" if not batches else "Check each batch's generation audit"),
        Item("readers", "Readers invited", n_readers > 0,
             f"{n_readers} reader{'s' if n_readers != 1 else ''}{planned}; {n_links} invitation link"
             f"{'s' if n_links != 1 else ''} not used yet.",
             reverse("protocol-readers", kwargs=slug), "Add readers or send invitation links"),
        Item("protocol", "Protocol checked", n_cases > 0 and not protocol_problem,
             protocol_problem or ("The protocol can be met; preview it as a reader before opening." if n_cases
                                  else "Import cases first: the protocol is checked against them."),
             reverse("protocol", kwargs=slug), "Review the protocol and preview as a reader"),
        power,
        Item("claim", "Analysis plan registered", claim_registered,
             "The endpoint, margin and primary comparisons are registered; opening freezes them." if claim_registered
             else "Not registered: without a plan fixed before opening, the results cannot say that a generator "
                  "passes for real.",
             reverse("analysis-plan", kwargs=slug), "Register the analysis plan (endpoint, margin, alpha)"),
    ]


def _power_item(study: Study, size: PlannedSizeCheck | None) -> Item:
    """Power planned: a planned size, and where an analysis plan is registered, one that its proposal says is enough
    (``planned_size.planned_size_check``: the sentence the plan page shows too)."""
    slug = {"slug": study.slug}
    planned = bool(study.planned_readers and study.planned_cases)
    if size is None:
        return Item("power", "Power planned", planned,
                    f"Planned: {study.planned_readers} readers x {study.planned_cases} cases." if planned
                    else "Not planned yet: record the readers and cases a power analysis asks for (manage.py "
                         "mrmc_power, the planning section of a pilot's results, or the registered analysis plan's "
                         "proposal).",
                    reverse("study_home", kwargs=slug) + "#plan", "Record the planned readers and cases")
    return Item("power", "Power planned", planned and not size.short, size.sentence,
                reverse("analysis-plan", kwargs=slug) + "#proposal",
                "Adopt a planned size from the analysis plan's proposal")


def next_action(study: Study, items: list[Item]) -> tuple[str, str]:
    """(what to do next, where): the first open item while a draft, then the study's running pages."""
    slug = {"slug": study.slug}
    if study.status == Study.Status.DRAFT:
        for item in items:
            if not item.done:
                return item.action, item.url
        return "Everything is ready: open the study", reverse("study_home", kwargs=slug) + "#status"
    if study.status == Study.Status.OPEN:
        return "Watch the readers' progress and flags", reverse("protocol-readers", kwargs=slug)
    if study.status == Study.Status.PAUSED:
        return "Resume the study when ready, or close it", reverse("study_home", kwargs=slug) + "#status"
    return "Read the results and download the exports", reverse("results", kwargs=slug)


def status_actions(study: Study) -> list[dict]:
    """The status buttons of the home page, each with whether it asks first."""
    actions = []
    for to in lifecycle.next_statuses(study):
        said = lifecycle.consequences(study, to)
        actions.append({"to": to, "verb": said.verb, "final": said.final})
    order = {Study.Status.OPEN: 0, Study.Status.PAUSED: 1, Study.Status.CLOSED: 2}
    return sorted(actions, key=lambda action: order[action["to"]])
