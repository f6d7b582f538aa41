"""Pages for readers and study admins, and the blinded image view; the work is done in services and selectors."""
from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from readerstudy.protocol.services import protocol_for

from . import selectors
from .blinding import blinded_png
from .models import Case, Membership

IMAGE_MAX_AGE_S = 3600


@login_required
def home(request):
    context = {"memberships": selectors.reader_memberships_with_progress(request.user)}
    if request.user.is_staff:
        context["all_studies"] = selectors.staff_studies()
    return render(request, "studies/home.html", context)


@login_required
def resume(request):
    """Where login lands: straight back into the one unfinished study, otherwise the list of studies."""
    slug = selectors.resume_study_slug(request.user)
    return redirect("read", slug=slug) if slug else redirect("home")


@login_required
def read(request, slug: str):
    membership = selectors.membership_for(request.user, slug)
    study = membership.study
    if not study.is_open:
        return render(request, "studies/not_open.html", {"study": study})
    progress = selectors.study_progress(membership)
    if progress["done"]:
        return redirect("finished", slug=slug)
    protocol = protocol_for(study)
    return render(request, "studies/read.html", {
        "study": study, "progress": progress, "ask_reasons": protocol.ask_fake_reasons,
        "cues": list(study.fake_cues.all()) if protocol.ask_fake_reasons else [],
    })


@login_required
def finished(request, slug: str):
    membership = selectors.membership_for(request.user, slug)
    progress = selectors.study_progress(membership)
    if not progress["done"] and membership.study.is_open:
        return redirect("read", slug=slug)
    return render(request, "studies/finished.html", {"study": membership.study, "progress": progress})


def _image_user(request):
    """The session user, or the user of an API token (scripts and the benchmark read images with tokens)."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def _stored_image_for(user, token: str):
    """The stored file behind an image token: a case's (for members of its study and staff), or a repeat's or
    practice image's (for the reader whose slot it is, and staff). None for anything else."""
    from readerstudy.protocol.models import SequenceSlot

    cases = Case.objects.filter(image_token=token).only("pk", "study_id", "image")
    if not user.is_staff:
        cases = cases.filter(Exists(Membership.objects.filter(study_id=OuterRef("study_id"), user=user)))
    case = cases.order_by("pk").first()
    if case is not None:
        return case.image
    slots = SequenceSlot.objects.filter(image_token=token).select_related("case", "practice_image")
    if not user.is_staff:
        slots = slots.filter(membership__user=user)
    slot = slots.first()
    if slot is None:
        return None
    return slot.case.image if slot.case_id else slot.practice_image.image


@require_GET
def case_image(request, token: str):
    """A case's image for members of its study (and staff). Everything else is 404, never a hint."""
    user = _image_user(request)
    if user is None:
        raise Http404("No such image.")
    stored_image = _stored_image_for(user, token)
    if stored_image is None:
        raise Http404("No such image.")
    try:
        with stored_image.open("rb") as stored:
            png = blinded_png(stored)
    except FileNotFoundError:
        raise Http404("No such image.") from None
    response = FileResponse(io.BytesIO(png), content_type="image/png")
    response["Cache-Control"] = f"private, max-age={IMAGE_MAX_AGE_S}"
    response.blinded = True  # BlindedResponseMiddleware strips what later middleware adds
    return response
