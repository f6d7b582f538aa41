"""Pages for study admins (protocol settings and lifecycle, sequences, readers) and the invitation page.

Thin: forms check types, the services decide; a refusal is shown next to the field it names.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from readerstudy.studies.models import Membership, Study, StudyAdministrator
from readerstudy.studies.selectors import account_named, study_for_staff
from readerstudy.studies.services import LastAdmin, reader_add, study_admin_grant, study_admin_revoke

from . import selectors, services
from .models import ExposureMode, Invitation


class SettingsForm(forms.Form):
    block_size = forms.IntegerField(min_value=0, help_text="0: one plain seeded shuffle.")
    repeat_percent = forms.DecimalField(min_value=0, max_digits=7, decimal_places=2,
                                        help_text="Percent of cases shown again later (0: none).")
    practice_count = forms.IntegerField(min_value=0, max_value=100)
    practice_feedback = forms.BooleanField(required=False, help_text="Practice only: say whether it was real.")
    exposure_mode = forms.ChoiceField(choices=ExposureMode.choices)
    exposure_ms = forms.IntegerField(required=False, help_text="50 to 60,000 ms.")
    staircase_down = forms.IntegerField(min_value=1, max_value=10)
    staircase_factor = forms.DecimalField(max_digits=4, decimal_places=2)
    ask_fake_reasons = forms.BooleanField(required=False)
    allow_vote_changes = forms.BooleanField(required=False)
    show_finding = forms.BooleanField(required=False)
    show_progress = forms.BooleanField(required=False)
    ask_confidence = forms.BooleanField(required=False)
    show_own_score_when_closed = forms.BooleanField(required=False)


class CuesForm(forms.Form):
    cues = forms.CharField(widget=forms.Textarea(attrs={"rows": 7}), required=False,
                           help_text="One cue per line.")


class ReaderAccountForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, required=False, min_length=8,
                               help_text="Leave empty to add an existing account.")


class SignupForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise ValidationError("This username is taken; log in first if it is yours.")
        return username

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


def _initial_settings(study: Study) -> dict:
    protocol = services.protocol_for(study)
    initial = {field: getattr(protocol, field) for field in services.PROTOCOL_FIELDS}
    initial.update({field: getattr(study, field) for field in services.STUDY_FIELDS})
    return initial


@login_required
def protocol_page(request, slug: str):
    study = study_for_staff(request.user, slug)
    form = SettingsForm(initial=_initial_settings(study))
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.settings_update(study, request.user, form.cleaned_data)
            except services.ProtocolError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, "Settings saved.")
                return redirect("protocol", slug=slug)
    study.refresh_from_db()
    context = {
        "study": study, "form": form, "frozen": selectors.frozen_reason(study),
        "result_shaping": set(services.StudyProtocol.RESULT_SHAPING) | set(services.STUDY_RESULT_SHAPING),
        "transitions": sorted(services.TRANSITIONS[study.status]),
        "cues_form": CuesForm(initial={"cues": "\n".join(study.fake_cues.values_list("label", flat=True))}),
        "practice_images": study.practice_images.select_related("source", "finding"),
        "audit": selectors.audit_trail(study, limit=100),
    }
    return render(request, "protocol/protocol.html", context)


@login_required
@require_POST
def status_change(request, slug: str):
    study = study_for_staff(request.user, slug)
    try:
        services.study_transition(study, request.user, request.POST.get("status", ""))
    except services.ProtocolError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The study is now {study.get_status_display().lower()}.")
    return redirect("protocol", slug=slug)


@login_required
@require_POST
def cues_change(request, slug: str):
    study = study_for_staff(request.user, slug)
    form = CuesForm(request.POST)
    if form.is_valid():
        try:
            services.cues_update(study, request.user, form.cleaned_data["cues"].splitlines())
        except services.ProtocolError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Cue list saved.")
    return redirect("protocol", slug=slug)


@login_required
def sequences_page(request, slug: str):
    study = study_for_staff(request.user, slug)
    members = list(Membership.objects.filter(study=study).order_by("number"))
    chosen = None
    wanted = request.GET.get("reader", "")
    if wanted:
        chosen = next((member for member in members if member.pseudonym == wanted), None)
        if chosen is None:
            raise Http404("No such reader.")
    elif members:
        chosen = members[0]
    context = {"study": study, "members": members, "chosen": chosen}
    if chosen is not None:
        context.update(rows=selectors.sequence_rows(study, chosen), check=selectors.sequence_check(chosen),
                       blocks=selectors.block_composition(chosen), columns=selectors.SEQUENCE_COLUMNS)
    return render(request, "protocol/sequences.html", context)


@login_required
def readers_page(request, slug: str):
    study = study_for_staff(request.user, slug)
    form = ReaderAccountForm()
    if request.method == "POST" and request.POST.get("action") == "add":
        form = ReaderAccountForm(request.POST)
        if form.is_valid():
            membership, created = reader_add(study=study, username=form.cleaned_data["username"],
                                             password=form.cleaned_data["password"] or None)
            services.audit(study, request.user, "reader_added", "readers", "", membership.pseudonym)
            messages.success(request, f"{form.cleaned_data['username']} is reader {membership.pseudonym}.")
            return redirect("protocol-readers", slug=slug)
    if request.method == "POST" and request.POST.get("action") in ("grant_admin", "revoke_admin"):
        _admin_change(request, study, request.POST["action"], request.POST.get("username", ""))
        return redirect("protocol-readers", slug=slug)
    if request.method == "POST" and request.POST.get("action") == "invite":
        invitation = services.invitation_create(study, request.user, request.POST.get("note", ""))
        messages.success(request, "Invitation link: " + request.build_absolute_uri(
            reverse("invitation", kwargs={"token": invitation.token})))
        return redirect("protocol-readers", slug=slug)
    return render(request, "protocol/readers.html", {
        "study": study, "form": form, "readers": selectors.readers_overview(study),
        "invitations": selectors.open_invitations(study),
        "admins": StudyAdministrator.objects.filter(study=study).select_related("user", "granted_by"),
    })


def _admin_change(request, study: Study, action: str, username: str) -> None:
    """Grant or remove admin rights from the readers page (audited by the services; never the last admin)."""
    user = account_named(username.strip())
    if user is None:
        messages.error(request, f"No account named {username!r}.")
        return
    if action == "grant_admin":
        _role, created = study_admin_grant(study=study, user=user, actor=request.user)
        messages.success(request, f"{username} {'is now' if created else 'was already'} an admin of this study.")
        return
    try:
        removed = study_admin_revoke(study=study, user=user, actor=request.user)
    except LastAdmin as exc:
        messages.error(request, str(exc))
        return
    messages.success(request, f"{username} {'is no longer' if removed else 'was not'} an admin of this study.")


@login_required
@require_POST
def reader_reset(request, slug: str, pseudonym: str):
    study = study_for_staff(request.user, slug)
    membership = next((member for member in Membership.objects.filter(study=study)
                       if member.pseudonym == pseudonym), None)
    if membership is None:
        raise Http404("No such reader.")
    try:
        services.reader_reset(membership, request.user)
    except services.ProtocolError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{pseudonym}'s session was reset.")
    return redirect("protocol-readers", slug=slug)


def invitation(request, token: str):
    """Anyone holding the link: log in or create an account, then join the study."""
    found = Invitation.objects.select_related("study").filter(token=token).first()
    if found is None or (found.used_by_id and (not request.user.is_authenticated
                                               or found.used_by_id != request.user.pk)):
        return render(request, "protocol/invitation.html", {"invalid": True}, status=404)
    form = SignupForm()
    if request.method == "POST":
        if not request.user.is_authenticated:
            form = SignupForm(request.POST)
            if not form.is_valid():
                return render(request, "protocol/invitation.html", {"invitation": found, "form": form})
            try:
                user = services.invitation_sign_up(token, username=form.cleaned_data["username"],
                                                   password=form.cleaned_data["password"])
            except services.ProtocolError as exc:
                messages.error(request, str(exc))
                return redirect("login")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("home")
        try:
            services.invitation_accept(token, request.user)
        except services.ProtocolError as exc:
            messages.error(request, str(exc))
            return redirect("home")
        return redirect("home")
    return render(request, "protocol/invitation.html", {"invitation": found, "form": form})
