"""Pages: for readers the study list, the reading page and the blinded image view; for study admins the protocol
settings and lifecycle, sequences and readers.

Thin: forms check types, the services decide; a refusal is shown next to the field it names.
"""
from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import AuthenticationFailed

from readerstudy.errors import ApplicationError, NotFound, json_refusal, page_refusal
from readerstudy.studies.auth import MAX_PASSWORD_LENGTH
from readerstudy.studies.blinding import BlindedImageCache
from readerstudy.studies.models import Answer, Case, Finding, Membership, Source, Study, StudyAdministrator
from readerstudy.studies.operator import operator_access
from readerstudy.studies.permissions import may_administer
from readerstudy.studies.selectors import account_named, audit_trail, listed_invitations, staff_studies, study_for_staff
from readerstudy.studies.services import (
    GrantRefused,
    LastAdmin,
    invitation_create,
    invitation_revoke,
    invitation_to_withdraw,
    reader_add,
    study_admin_grant_named,
    study_admin_revoke,
)
from readerstudy.studies.tokens import ExpiringTokenAuthentication
from readerstudy.studies.usernames import UsernameRefused

from . import lifecycle, monitoring, reading_sql, selectors, services, showings, votes
from . import preview as previews
from .models import MARK_IMAGE_SIZE, MARK_RADIUS_PX, MAX_MARKS_LIMIT, ExposureMode, MarksMode, StudyProtocol


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
    marks_mode = forms.ChoiceField(choices=MarksMode.choices, required=False, label="Marks",
                                   help_text="Readers click the places that gave an image away (docs/marks.md).")
    max_marks = forms.IntegerField(min_value=1, max_value=MAX_MARKS_LIMIT, required=False,
                                   help_text=f"Marks a reader may place on one image (1 to {MAX_MARKS_LIMIT}).")
    allow_vote_changes = forms.BooleanField(required=False)
    show_finding = forms.BooleanField(required=False)
    show_progress = forms.BooleanField(required=False)
    ask_confidence = forms.BooleanField(required=False)
    show_own_score_when_closed = forms.BooleanField(
        required=False, help_text="Once the study is closed, each reader sees their own score (never anyone else's) "
                                  "on a page linked from their finished page and home page.")


class PracticeImageForm(forms.Form):
    image = forms.FileField(help_text="PNG or JPEG; normalised as a batch's images are.")
    source = forms.ModelChoiceField(Source.objects.all(), to_field_name="slug", empty_label=None,
                                    help_text="Its truth, for the feedback after a practice answer.")
    finding = forms.ModelChoiceField(Finding.objects.all(), to_field_name="slug", required=False,
                                     empty_label="(none)")


class CuesForm(forms.Form):
    cues = forms.CharField(widget=forms.Textarea(attrs={"rows": 7}), required=False,
                           help_text="One cue per line.")


class ReaderAccountForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, required=False, min_length=8, max_length=MAX_PASSWORD_LENGTH,
                               help_text="Leave empty to add an existing account.")


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
                # a form sent without the marking fields (an older page) leaves them as they are
                changes = {field: value for field, value in form.cleaned_data.items()
                           if not (field in ("marks_mode", "max_marks") and value in ("", None))}
                services.settings_update(study, request.user, changes)
            except services.ProtocolError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, "Settings saved.")
                return redirect("protocol", slug=slug)
    study.refresh_from_db()
    context = {
        "study": study, "form": form, "frozen": selectors.frozen_reason(study),
        "result_shaping": set(services.StudyProtocol.RESULT_SHAPING) | set(services.STUDY_RESULT_SHAPING),
        "transitions": lifecycle.next_statuses(study),
        "cues_form": CuesForm(initial={"cues": "\n".join(study.fake_cues.values_list("label", flat=True))}),
        "practice_images": study.practice_images.select_related("source", "finding"),
        "practice_form": PracticeImageForm(),
        "audit": audit_trail(study, limit=100),
    }
    return render(request, "reading/protocol.html", context)


def _back_to(request, slug: str) -> str:
    """Where a status form returns: the page it came from (the study home or the protocol page), never elsewhere."""
    wanted = request.POST.get("next", "")
    allowed = {reverse("study_home", kwargs={"slug": slug}), reverse("protocol", kwargs={"slug": slug})}
    return wanted if wanted in allowed else reverse("study_home", kwargs={"slug": slug})


@login_required
@require_POST
def status_change(request, slug: str):
    """Change the study's status. A change that cannot be undone (opening a draft, closing) is asked first: without
    ``confirm=yes`` this answers the confirmation step, saying what the change ends or freezes."""
    study = study_for_staff(request.user, slug)
    to, back = request.POST.get("status", ""), _back_to(request, slug)
    try:
        said = lifecycle.consequences(study, to)
    except services.ProtocolError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if said.final and to != study.status and request.POST.get("confirm") != "yes":
        return render(request, "reading/confirm_status.html", {"study": study, "said": said, "back": back})
    try:
        lifecycle.study_transition(study, request.user, to)
    except services.ProtocolError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The study is now {study.get_status_display().lower()}.")
    return redirect(back)


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
@require_POST
def practice_image_upload(request, slug: str):
    """Add an image to the practice pool from the protocol page (the API's rules: normalised, never a study case,
    frozen after the first vote)."""
    study = study_for_staff(request.user, slug)
    form = PracticeImageForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose an image file and its source.")
        return redirect("protocol", slug=slug)
    try:
        png = services.practice_image_normalised(study, form.cleaned_data["image"].read())
        image = services.practice_image_add(study, request.user, png_bytes=png, source=form.cleaned_data["source"],
                                            finding=form.cleaned_data["finding"])
    except services.ProtocolError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Practice image #{image.pk} ({image.source.name}) added.")
    return redirect(reverse("protocol", kwargs={"slug": slug}) + "#practice")


@login_required
def sequences_page(request, slug: str):
    study = study_for_staff(request.user, slug)
    members = list(Membership.objects.filter(study=study).order_by("number"))
    chosen = None
    wanted = request.GET.get("reader", "")
    if wanted:
        chosen = Membership.objects.filter(study=study).with_pseudonym(wanted).first()
        if chosen is None:
            raise Http404("No such reader.")
    elif members:
        chosen = members[0]
    context = {"study": study, "members": members, "chosen": chosen}
    if chosen is not None:
        context.update(rows=list(selectors.sequence_rows(study, chosen)), check=selectors.sequence_check(chosen),
                       blocks=selectors.block_composition(chosen), columns=selectors.SEQUENCE_COLUMNS)
    return render(request, "reading/sequences.html", context)


@login_required
def readers_page(request, slug: str):
    study = study_for_staff(request.user, slug)
    form = ReaderAccountForm()
    if request.method == "POST" and request.POST.get("action") == "add":
        form = ReaderAccountForm(request.POST)
        if form.is_valid():
            try:
                membership, created = reader_add(study=study, username=form.cleaned_data["username"],
                                                 password=form.cleaned_data["password"] or None, actor=request.user)
            except UsernameRefused as exc:
                form.add_error("username", exc.message)
            else:
                messages.success(request, f"{form.cleaned_data['username']} is reader {membership.pseudonym}.")
                return redirect("protocol-readers", slug=slug)
    if request.method == "POST" and request.POST.get("action") in ("grant_admin", "revoke_admin"):
        _admin_change(request, study, request.POST["action"], request.POST.get("username", ""))
        return redirect("protocol-readers", slug=slug)
    if request.method == "POST" and request.POST.get("action") == "invite":
        invitation = invitation_create(study, request.user, request.POST.get("note", ""))
        messages.success(request, "Invitation link: " + request.build_absolute_uri(
            reverse("invitation", kwargs={"token": invitation.token})))
        return redirect("protocol-readers", slug=slug)
    return render(request, "reading/readers.html", {
        "study": study, "form": form, "readers": monitoring.reader_monitoring(study),
        "thresholds": monitoring.THRESHOLDS.described(),
        "reminder_url": request.build_absolute_uri(reverse("read", kwargs={"slug": study.slug})),
        "invitations": listed_invitations(study), "now": timezone.now(),
        "admins": StudyAdministrator.objects.filter(study=study).select_related("user", "granted_by"),
    })


def _admin_change(request, study: Study, action: str, username: str) -> None:
    """Grant or remove admin rights from the readers page (audited by the services; never the last admin)."""
    if action == "grant_admin":
        try:
            _role, created = study_admin_grant_named(study=study, username=username.strip(), actor=request.user)
        except GrantRefused as exc:
            messages.error(request, exc.message)
            return
        messages.success(request, f"{username} {'is now' if created else 'was already'} an admin of this study.")
        return
    user = account_named(username.strip())
    if user is None:
        messages.error(request, f"{username} is not an admin of this study.")
        return
    try:
        removed = study_admin_revoke(study=study, user=user, actor=request.user)
    except LastAdmin as exc:
        messages.error(request, str(exc))
        return
    messages.success(request, f"{username} {'is no longer' if removed else 'was not'} an admin of this study.")


@login_required
@require_POST
def invitation_withdraw(request, slug: str, invitation_id: int):
    """Withdraw an invitation link from the readers page, through the API's service (``invitation_revoke``). It
    cannot be undone, so it is asked first: without ``confirm=yes`` this answers the question, naming the link."""
    study = study_for_staff(request.user, slug)
    try:
        if request.POST.get("confirm") != "yes":
            invitation = invitation_to_withdraw(study, invitation_id)
            return render(request, "reading/confirm_withdraw.html", {"study": study, "invitation": invitation})
        invitation = invitation_revoke(study, request.user, invitation_id)
    except ApplicationError as refusal:
        page_refusal(request, refusal)
    else:
        messages.success(request, f"The invitation link {_link_name(invitation)} was withdrawn: it no longer works.")
    return redirect("protocol-readers", slug=slug)


def _link_name(invitation) -> str:
    return f"for {invitation.note}" if invitation.note else f"created {invitation.created_at:%Y-%m-%d %H:%M} UTC"


@login_required
@require_POST
def reader_reset(request, slug: str, pseudonym: str):
    study = study_for_staff(request.user, slug)
    membership = Membership.objects.filter(study=study).with_pseudonym(pseudonym).first()
    if membership is None:
        raise Http404("No such reader.")
    try:
        services.reader_reset(membership, request.user)
    except services.ProtocolError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{pseudonym}'s session was reset.")
    return redirect("protocol-readers", slug=slug)


# --- reading pages and the blinded image --------------------------------------------------------------------------

IMAGE_MAX_AGE_S = 3600
blinded_images = BlindedImageCache(max_bytes=settings.BLINDED_IMAGE_CACHE_BYTES)
CASE_IMAGE_STORAGE = Case._meta.get_field("image").storage


@login_required
def home(request):
    context = {"memberships": selectors.reader_memberships_with_progress(request.user),
               "waiting": selectors.reader_waiting_studies(request.user)}
    if may_administer(request.user):
        context["all_studies"] = staff_studies(request.user)
    return render(request, "reading/home.html", context)


@login_required
def resume(request):
    """Where login lands: straight back into the one unfinished study, otherwise the list of studies."""
    slug = selectors.resume_study_slug(request.user)
    return redirect("read", slug=slug) if slug else redirect("home")


@login_required
def read(request, slug: str):
    reader = selectors.reader_for(request.user, slug)
    study, protocol = reader.study, reader.protocol
    if not study.is_open:
        return render(request, "reading/not_open.html", {"study": study})
    progress = selectors.study_progress(reader.membership, protocol)
    if progress["done"]:
        return redirect("finished", slug=slug)
    return render(request, "reading/read.html", {
        "study": study, "progress": progress, "ask_reasons": protocol.ask_fake_reasons,
        "may_go_back": services.going_back_allowed(study, protocol),
        "cues": list(study.fake_cues.all()) if protocol.ask_fake_reasons else [],
        **marking_context(protocol),
    })


def marking_context(protocol) -> dict:
    """What the reading page needs for the marking step (nothing of it is drawn where the study asks no marks)."""
    protocol = protocol if protocol is not None else StudyProtocol()
    return {"marks_mode": protocol.marks_mode, "max_marks": protocol.max_marks, "mark_radius": MARK_RADIUS_PX,
            "mark_image_size": MARK_IMAGE_SIZE}


@login_required
def finished(request, slug: str):
    membership = selectors.membership_for(request.user, slug)
    progress = selectors.study_progress(membership)
    if not progress["done"] and membership.study.is_open:
        return redirect("read", slug=slug)
    return render(request, "reading/finished.html", {"study": membership.study, "progress": progress})


def _image_user(request):
    """The session user, or the user of an API token (scripts and the benchmark read images with tokens)."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = ExpiringTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def _stored_image_for(user, token: str):
    """The (storage, file name) behind an image token: a showing's (for the reader it was issued to, and the study's
    admins), or a case's own token (the study's admins only: readers are only ever given showing tokens). None for
    anything else. A superuser reaches any image, audited outside the studies they administer."""
    if may_administer(user):
        name = reading_sql.image_name(token, user.pk, as_admin=True)  # one statement: the case's study's admins
        if name is not None:
            return CASE_IMAGE_STORAGE, name
        if user.is_superuser and (name := _operator_case_image(user, token)) is not None:
            return CASE_IMAGE_STORAGE, name
    found = showings.fetched_image(user, token)
    if found is None:
        return None
    name, is_practice = found
    return (showings.PRACTICE_IMAGE_STORAGE if is_practice else CASE_IMAGE_STORAGE), name


def _operator_case_image(user, token: str) -> str | None:
    """A superuser's look at a case image (by the case's own token) of a study they do not administer: audited."""
    case = Case.objects.filter(image_token=token).select_related("study").first()
    if case is None:
        return None
    operator_access(user, case.study)
    return case.image.name


@require_GET
def case_image(request, token: str):
    """The image of a showing for the reader it was issued to (and the study's admins). Everything else is 404, never
    a hint."""
    user = _image_user(request)
    if user is None:
        raise Http404("No such image.")
    stored = _stored_image_for(user, token)
    if stored is None:
        raise Http404("No such image.")
    try:
        png = blinded_images.get(*stored)
    except FileNotFoundError:
        raise Http404("No such image.") from None
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = f"private, max-age={IMAGE_MAX_AGE_S}"
    response.blinded = True  # BlindedResponseMiddleware strips what later middleware adds
    return response


# --- preview as a reader ----------------------------------------------------------------------------------------

def _preview(request, study) -> tuple[list, previews.PreviewState]:
    state = previews.PreviewState.from_session(request.session.get(previews.session_key(study)))
    if state is None:
        state = previews.PreviewState.fresh()
        request.session[previews.session_key(study)] = state.as_session()
    return previews.preview_cases(study, state.seed), state


@login_required
@require_GET
def preview_page(request, slug: str):
    """The reading page itself, pointed at the preview's endpoints. Opening it starts a new preview (a fresh reader's
    order); ``?done=1`` is where the page goes after the last image."""
    study = study_for_staff(request.user, slug)
    done = request.GET.get("done") == "1"
    if not done:
        request.session[previews.session_key(study)] = previews.PreviewState.fresh().as_session()
    cases, state = _preview(request, study)
    protocol = services.protocol_for(study)
    return render(request, "reading/preview_done.html" if done else "reading/preview.html", {
        "study": study, "done": done, "preview_total": len(cases),
        "progress": {"answered": len(state.answers) if done else 0, "total": len(cases)},
        "ask_reasons": protocol.ask_fake_reasons,
        "cues": list(study.fake_cues.all()) if protocol.ask_fake_reasons else [],
        **marking_context(protocol),
    })


@login_required
@require_GET
def preview_next(request, slug: str):
    study = study_for_staff(request.user, slug)
    cases, state = _preview(request, study)
    index = previews.first_unanswered(cases, state)
    if index is None:
        return HttpResponse(status=204)
    return JsonResponse(previews.slot_payload(study, cases, state, index))


@login_required
@require_GET
def preview_position(request, slug: str, position: int):
    study = study_for_staff(request.user, slug)
    cases, state = _preview(request, study)
    if not 1 <= position <= len(cases):
        return json_refusal(NotFound(f"Position must be between 1 and {len(cases)}.", "position"))
    payload = previews.slot_payload(study, cases, state, position - 1)
    answer = state.answers.get(str(position))
    payload["vote"] = {"answer": answer, "confidence": None} if answer else None
    return JsonResponse(payload)


@login_required
@require_POST
def preview_vote(request, slug: str):
    """Take the page's answer and move the preview on; nothing is stored but the position in the admin's session."""
    study = study_for_staff(request.user, slug)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("answer") not in Answer.values or not isinstance(body.get("case"), str):
        return json_refusal(ApplicationError("Send a case and an answer (real or fake).", "answer"))
    marks = body.get("marks")
    if marks is not None and (not isinstance(marks, list) or not all(isinstance(mark, dict) for mark in marks)):
        return json_refusal(ApplicationError("`marks` is a list of {x, y, confidence?}.", "marks"))
    try:  # the marks are checked as a reader's would be, and not kept
        votes.checked_marks(study, services.protocol_for(study), body["answer"], marks)
    except ApplicationError as refusal:
        return json_refusal(refusal)
    cases, state = _preview(request, study)
    new_state = previews.record_answer(cases, state, body["case"], body["answer"])
    if new_state is None:
        return json_refusal(ApplicationError("No such case in this preview.", "case"))
    request.session[previews.session_key(study)] = new_state.as_session()
    return JsonResponse({"case": body["case"], "answer": body["answer"], "preview": True, "recorded": False})
