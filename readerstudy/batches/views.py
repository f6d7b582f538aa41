"""Staff pages for batches; anyone else gets 404. The work is done in services and selectors."""
from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from readerstudy.studies.selectors import study_for_staff

from . import quality
from .models import Batch
from .selectors import audit_summary, batch_quality, batches_of, plan_table, study_composition
from .services import BatchRejected, batch_create, batch_delete


@login_required
@require_http_methods(["GET", "POST"])
def batch_list(request, slug: str):
    """The study's batches, its composition and the upload form (the form also works without JavaScript)."""
    study = study_for_staff(request.user, slug)
    if request.method == "POST":
        upload = request.FILES.get("archive")
        if upload is None:
            messages.error(request, "Choose a .zip file to upload.")
            return redirect("batch_list", slug=study.slug)
        try:
            batch = batch_create(study=study, archive_file=upload, original_name=upload.name,
                                 uploaded_by=request.user)
        except BatchRejected as rejected:
            messages.error(request, rejected.message)
            return redirect("batch_list", slug=study.slug)
        return redirect("batch_detail", slug=study.slug, batch_id=batch.pk)
    return render(request, "batches/batch_list.html", {
        "study": study,
        "batches": batches_of(study),
        "composition": study_composition(study),
        "can_upload": study.status == study.Status.DRAFT,
    })


@login_required
def batch_detail(request, slug: str, batch_id: int):
    study = study_for_staff(request.user, slug)
    batch = get_object_or_404(Batch.objects.select_related("uploaded_by"), study=study, pk=batch_id)
    return render(request, "batches/batch_detail.html", {
        "study": study,
        "batch": batch,
        "audit": audit_summary(batch.audit),
        "plan": plan_table(batch.audit),
        "quality": batch_quality(batch),
        "in_progress": batch.status in (Batch.Status.QUEUED, Batch.Status.RUNNING),
        "can_remove": study.status == study.Status.DRAFT
        and batch.status in (Batch.Status.DONE, Batch.Status.FAILED),
    })


@login_required
@require_POST
def batch_remove(request, slug: str, batch_id: int):
    study = study_for_staff(request.user, slug)
    batch = get_object_or_404(Batch, study=study, pk=batch_id)
    try:
        batch_delete(batch=batch)
    except BatchRejected as rejected:
        messages.error(request, rejected.message)
        return redirect("batch_detail", slug=study.slug, batch_id=batch_id)
    messages.success(request, f"Batch {batch_id} and its cases were removed.")
    return redirect("batch_list", slug=study.slug)


FIGURE_CACHE_SECONDS = 24 * 3600


def cached_figure(batch: Batch, table: quality.QualityTable, title: str, image_format: str) -> bytes:
    """The rendered figure, cached by its inputs: the batch's zip (its provenance never changes), the findings and
    sources in the study's order, the title and the format. Rendering is the slow part (matplotlib)."""
    inputs = repr((batch.zip_sha256, table.findings, table.sources, title, image_format,
                   quality.MAX_FIGURE_SOURCES))
    key = "batch-quality-figure:" + hashlib.sha256(inputs.encode()).hexdigest()
    figure = cache.get(key)
    if figure is None:
        figure = quality.render_quality(table, title, image_format)
        cache.set(key, figure, FIGURE_CACHE_SECONDS)
    return figure


@login_required
@require_GET
def batch_audit_figure(request, slug: str, batch_id: int, image_format: str):
    """The small multiples of SSIM and PSNR per source (PNG or SVG); 404 when the audit has no per-image values."""
    study = study_for_staff(request.user, slug)
    batch = get_object_or_404(Batch, study=study, pk=batch_id)
    table = batch_quality(batch)
    if table is None or not table.has_distributions:
        raise Http404("This batch's audit has no per-image SSIM or PSNR.")
    title = f"Batch {batch.pk} of {study.slug}: SSIM and PSNR of each generated image to its origin, by finding"
    figure = cached_figure(batch, table, title, image_format)
    response = HttpResponse(figure, content_type=quality.FORMATS[image_format])
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{study.slug}-batch-{batch.pk}-quality.{image_format}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_GET
def batch_audit_records(request, slug: str, batch_id: int):
    """The audit's raw per-image records, one row each, behind a link from the batch page."""
    study = study_for_staff(request.user, slug)
    batch = get_object_or_404(Batch, study=study, pk=batch_id)
    return render(request, "batches/audit_records.html", {
        "study": study, "batch": batch, "audit": audit_summary(batch.audit),
    })
