"""The New study page, each study's home and its audit trail. Thin: forms check types, the services decide."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from readerstudy.reading import creation
from readerstudy.reading.models import ExposureMode
from readerstudy.studies.models import Finding, Source, Study
from readerstudy.studies.permissions import may_administer
from readerstudy.studies.selectors import audit_trail, study_for_staff
from readerstudy.studies.services import study_plan_update

from . import checklist


class NewStudyForm(forms.Form):
    name = forms.CharField(max_length=creation.NAME_MAX, help_text="What readers and the results call it.",
                           error_messages={"required": "The study needs a name."})
    slug = forms.CharField(max_length=creation.SLUG_MAX, required=False,
                           help_text="The study's address, /studies/<slug>/; derived from the name when empty.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="Shown to readers on their study list.")
    findings = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False,
                                         help_text="The paper's six by default: untick those the images do not show.")
    sources = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False,
                                        help_text="Real and the paper's three generators by default.")
    ask_confidence = forms.BooleanField(required=False, label="Ask a 1-5 confidence after each answer",
                                        help_text="Needed for ROC curves and AUC.")
    practice_count = forms.IntegerField(min_value=0, max_value=100, initial=0, label="Practice images",
                                        help_text="Shown before the study; add the images on the protocol page.")
    repeat_percent = forms.DecimalField(min_value=0, max_value=100, max_digits=5, decimal_places=2, initial=0,
                                        label="Repeats (% of cases)", help_text="Shown again later, unannounced.")
    exposure_mode = forms.ChoiceField(choices=ExposureMode.choices, initial=ExposureMode.OFF, label="Exposure")
    exposure_ms = forms.IntegerField(required=False, label="Exposure (ms)", help_text="Timed modes: 50 to 60,000.")
    allow_vote_changes = forms.BooleanField(required=False, label="Readers may go back and change an answer")
    planned_readers = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    planned_cases = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    admins = forms.CharField(required=False, label="More admins",
                             help_text="You administer the study; add other staff usernames, comma-separated.")

    GROUPS = (
        ("The study", ("name", "slug", "description")),
        ("What the images show and where they come from", ("findings", "sources")),
        ("Reading protocol", ("ask_confidence", "practice_count", "repeat_percent", "exposure_mode", "exposure_ms",
                              "allow_vote_changes")),
        ("Plan and admins", ("planned_readers", "planned_cases", "admins")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["findings"].choices = [(f.slug, f.name) for f in Finding.objects.all()]
        self.fields["sources"].choices = [(s.slug, s.name) for s in Source.objects.all()]
        if not self.is_bound:
            self.initial.setdefault("findings", [slug for slug, _name in self.fields["findings"].choices])
            self.initial.setdefault("sources", [slug for slug, _name in self.fields["sources"].choices])


@login_required
def new_study(request):
    """Staff: create a study complete (findings, sources, protocol, admins), then land on its home."""
    if not may_administer(request.user):
        raise PermissionDenied("Only staff accounts create studies.")
    form = NewStudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        setup = creation.StudySetUp(
            name=data["name"], slug=data["slug"], description=data["description"], findings=data["findings"],
            sources=data["sources"], ask_confidence=data["ask_confidence"],
            allow_vote_changes=data["allow_vote_changes"], practice_count=data["practice_count"] or 0,
            repeat_percent=data["repeat_percent"] or 0, exposure_mode=data["exposure_mode"],
            exposure_ms=data["exposure_ms"], planned_readers=data["planned_readers"],
            planned_cases=data["planned_cases"], admins=data["admins"].split(","))
        try:
            study = creation.study_set_up(setup, creator=request.user)
        except creation.ProtocolError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Study {study.name} created: you administer it. Next, upload a batch.")
            return redirect("study_home", slug=study.slug)
    groups = [(legend, [form[name] for name in names]) for legend, names in NewStudyForm.GROUPS]
    return render(request, "overview/new_study.html", {"form": form, "groups": groups})


class PlanForm(forms.Form):
    planned_readers = forms.IntegerField(required=False, min_value=1, max_value=100_000, label="Readers")
    planned_cases = forms.IntegerField(required=False, min_value=1, max_value=100_000, label="Cases")


@login_required
def study_home(request, slug: str):
    """A study's home: status with its actions, the set-up checklist and the next action."""
    study = study_for_staff(request.user, slug)
    items = checklist.checklist(study)
    action, action_url = checklist.next_action(study, items)
    return render(request, "overview/study_home.html", {
        "study": study, "items": items, "next_action": action, "next_url": action_url,
        "status_actions": checklist.status_actions(study),
        "plan_form": PlanForm(initial={"planned_readers": study.planned_readers,
                                       "planned_cases": study.planned_cases}),
        "lifecycle_final": study.status == Study.Status.CLOSED,
    })


@login_required
@require_POST
def plan_change(request, slug: str):
    study = study_for_staff(request.user, slug)
    form = PlanForm(request.POST)
    if form.is_valid():
        study_plan_update(study, request.user, readers=form.cleaned_data["planned_readers"],
                          cases=form.cleaned_data["planned_cases"])
        messages.success(request, "Plan saved.")
    else:
        messages.error(request, "Planned readers and cases are whole numbers from 1 to 100,000 (or empty).")
    return redirect("study_home", slug=slug)


@login_required
def study_audit(request, slug: str):
    study = study_for_staff(request.user, slug)
    return render(request, "overview/audit.html", {"study": study, "entries": audit_trail(study, limit=1000)})



