"""Study admin pages: start "generate and import" for a study and watch its progress. Anyone else gets 404."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from readerstudy.studies.selectors import study_for_staff

from .forms import GenerationJobForm
from .models import GenerationJob
from .selectors import checkpoint_files, jobs_for_study
from .services import JobRejected, job_create


@login_required
@require_http_methods(["GET", "POST"])
def job_list(request, slug: str):
    study = study_for_staff(request.user, slug)
    form = GenerationJobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = job_create(study=study, created_by=request.user, checkpoints=form.checkpoints(),
                             per_cell=form.cleaned_data["per_cell"], seed=form.cleaned_data["seed"],
                             allow_reuse=form.cleaned_data["allow_reuse"])
        except JobRejected as rejected:
            messages.error(request, str(rejected))
        else:
            return redirect("generation_job_detail", slug=study.slug, job_id=job.pk)
    return render(request, "jobs/job_list.html", {
        "study": study, "form": form, "jobs": jobs_for_study(study), "has_checkpoints": bool(checkpoint_files()),
        "data_dir": settings.GENERATION_DATA_DIR, "checkpoint_root": settings.GENERATION_CHECKPOINT_ROOT,
        "runs_in_thread": settings.GENERATION_RUN_IN_THREAD,
    })


@login_required
def job_detail(request, slug: str, job_id: int):
    study = study_for_staff(request.user, slug)
    job = get_object_or_404(GenerationJob.objects.select_related("batch"), pk=job_id, study=study)
    return render(request, "jobs/job_detail.html", {"study": study, "job": job})


@login_required
def job_status(request, slug: str, job_id: int):
    """The job's state as JSON, for scripts and for polling."""
    study = study_for_staff(request.user, slug)
    job = get_object_or_404(GenerationJob.objects.select_related("batch"), pk=job_id, study=study)
    batch = job.batch
    return JsonResponse({
        "id": job.pk, "status": job.status, "stage": job.stage, "progress_done": job.progress_done,
        "progress_total": job.progress_total, "attempts": job.attempts, "error": job.error,
        "batch": None if batch is None else {"id": batch.pk, "status": batch.status,
                                             "cases_created": batch.cases_created},
    }, headers={"Cache-Control": "private, no-store"})
