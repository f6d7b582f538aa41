"""Staff pages for a study's cases: the gallery, one case, its thumbnail, exclusion, and the preview as a reader.

Every view finds the study through ``study_for_staff`` (404 for anyone else); the work is in selectors and services.
"""
from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from readerstudy.protocol.services import protocol_for
from readerstudy.studies.models import Answer, Case
from readerstudy.studies.selectors import study_for_staff

from . import preview as previews
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
    protocol = protocol_for(study)
    return render(request, "gallery/preview_done.html" if done else "gallery/preview.html", {
        "study": study, "done": done, "preview_total": len(cases),
        "progress": {"answered": len(state.answers) if done else 0, "total": len(cases)},
        "ask_reasons": protocol.ask_fake_reasons,
        "cues": list(study.fake_cues.all()) if protocol.ask_fake_reasons else [],
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
        return JsonResponse({"detail": f"Position must be between 1 and {len(cases)}."}, status=404)
    payload = previews.slot_payload(study, cases, state, position - 1)
    answer = state.answers.get(str(position))
    payload["vote"] = {"answer": answer, "confidence": None} if answer else None
    return JsonResponse(payload)


@login_required
@require_POST
def preview_vote(request, slug: str):
    """Take the page's answer and move the preview on; nothing is stored but the position in the admin's session."""
    import json

    study = study_for_staff(request.user, slug)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("answer") not in Answer.values or not isinstance(body.get("case"), str):
        return JsonResponse({"detail": "Send a case and an answer (real or fake)."}, status=400)
    cases, state = _preview(request, study)
    new_state = previews.record_answer(cases, state, body["case"], body["answer"])
    if new_state is None:
        return JsonResponse({"detail": "No such case in this preview."}, status=400)
    request.session[previews.session_key(study)] = new_state.as_session()
    return JsonResponse({"case": body["case"], "answer": body["answer"], "preview": True, "recorded": False})
