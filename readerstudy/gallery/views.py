"""Staff pages for a study's cases: the gallery, one case, its thumbnail, exclusion, and the preview as a reader.

Every view finds the study through ``study_for_staff`` (404 for anyone else); the work is in selectors and services.
"""
from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from readerstudy.studies.display import reader_zoom_examples
from readerstudy.studies.models import Case
from readerstudy.studies.selectors import study_for_staff

from . import selectors, services, thumbnails

THUMBNAIL_MAX_AGE_S = 3600
CASE_IMAGE_STORAGE = Case._meta.get_field("image").storage


@login_required
@require_GET
def gallery(request, slug: str):
    study = study_for_staff(request.user, slug)
    page = selectors.gallery_page(study, selectors.GalleryFilter.from_query(request.GET))
    return render(request, "gallery/gallery.html", {
        "study": study, "gallery": page, "can_exclude": study.status == study.Status.DRAFT,
        "back": quote(page.filter.query_for(), safe=""),  # where a case's page leads back to
    })


@login_required
@require_GET
def case_detail(request, slug: str, public_id: str):
    study = study_for_staff(request.user, slug)
    case = selectors.case_for_staff(study, public_id)
    return render(request, "gallery/case_detail.html", {
        "study": study, "case": case, "provenance": selectors.case_provenance(case),
        "image_url": reverse("case_image", kwargs={"token": case.image_token}),
        "can_exclude": study.status == study.Status.DRAFT,
        "back_query": request.GET.get("back", "")[:300],
        "reader_zoom": reader_zoom_examples(),
    })


@login_required
@require_GET
def case_thumbnail(request, slug: str, public_id: str):
    study = study_for_staff(request.user, slug)
    name, pixel_sha256 = selectors.case_image_for_staff(study, public_id)
    try:
        png = thumbnails.case_thumbnail(CASE_IMAGE_STORAGE, name, pixel_sha256)
    except FileNotFoundError:
        raise Http404("No such image.") from None
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = f"private, max-age={THUMBNAIL_MAX_AGE_S}"
    return response


@login_required
@require_POST
def case_exclude(request, slug: str, public_id: str):
    study = study_for_staff(request.user, slug)
    case = selectors.case_for_staff(study, public_id)
    try:
        services.case_exclude(case=case, actor=request.user, reason=request.POST.get("reason", ""))
    except services.ExclusionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Case {case.public_id} is excluded: no reader will see it, no result counts it.")
    return redirect("gallery-case", slug=study.slug, public_id=case.public_id)


@login_required
@require_POST
def case_include(request, slug: str, public_id: str):
    study = study_for_staff(request.user, slug)
    case = selectors.case_for_staff(study, public_id)
    try:
        services.case_include(case=case, actor=request.user)
    except services.ExclusionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Case {case.public_id} is included again.")
    return redirect("gallery-case", slug=study.slug, public_id=case.public_id)
