"""Pages for readers and study admins, and the blinded image view; the work is done in services and selectors."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from readerstudy.protocol.services import protocol_for

from . import reading_sql, selectors
from .blinding import BlindedImageCache
from .models import Case
from .operator import operator_access
from .permissions import may_administer
from .tokens import ExpiringTokenAuthentication

IMAGE_MAX_AGE_S = 3600
blinded_images = BlindedImageCache(max_bytes=settings.BLINDED_IMAGE_CACHE_BYTES)
CASE_IMAGE_STORAGE = Case._meta.get_field("image").storage


@login_required
def home(request):
    context = {"memberships": selectors.reader_memberships_with_progress(request.user)}
    if may_administer(request.user):
        context["all_studies"] = selectors.staff_studies(request.user)
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
        found = ExpiringTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def _stored_image_for(user, token: str):
    """The (storage, file name) behind an image token: a showing's (for the reader it was issued to, and the study's
    admins), or a case's own token (the study's admins only: readers are only ever given showing tokens). None for
    anything else. A superuser reaches any image, audited outside the studies they administer."""
    from readerstudy.protocol import showings

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
