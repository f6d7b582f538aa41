"""The results page and its charts, for study admins (staff) only (anyone else gets 404, anonymous users the login);
and a reader's own score, for the reader alone, once the study is closed and where the study shows it."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from readerstudy.errors import ApplicationError, page_refusal
from readerstudy.reading.selectors import membership_for
from readerstudy.studies.models import Study
from readerstudy.studies.selectors import study_for_staff

from . import analysis_plan, charts, marks, marks_charts, planned_size, services
from .forms import AdoptSizeForm, AnalysisPlanForm
from .marks_export import jafroc_download


@login_required
def results(request, slug: str):
    study = study_for_staff(request.user, slug)
    context = services.results_page_context(study)
    context["marks"] = marks.marks_results(study, context["version"])  # templates/results/_marks.html
    return render(request, "results/results.html", context)


def _image(content: bytes, image_format: str, request, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=charts.FORMATS[image_format])
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}.{image_format}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def marks_chart(request, slug: str, chart: str, image_format: str):
    """The marks drawn: ``heatmap`` (per source and finding) or ``cases`` (small multiples, ``?page=N``). Study
    admins only, like every results page: a reader never sees where anyone marked."""
    study = study_for_staff(request.user, slug)
    version = services.results_version(study)
    load = lambda: marks.study_marks(study)  # noqa: E731  (drawn, and the marks read, only when not cached)
    try:
        if chart == "heatmap":
            content = marks_charts.render_heatmap(load, study.name, version, image_format)
        else:
            content = marks_charts.render_cases(load, study.name, version, image_format,
                                                page=int(request.GET.get("page", "1")))
    except ValueError:
        raise Http404("No such chart page.") from None
    return _image(content, image_format, request, f"{study.slug}-marks-{chart}")


@login_required
def marks_case_chart(request, slug: str, public_id: str, image_format: str):
    """One case with every reader's marks and its box (the gallery's case page shows it)."""
    study = study_for_staff(request.user, slug)
    try:
        content = marks_charts.render_case(lambda: marks.study_marks(study), public_id,
                                           services.results_version(study), image_format)
    except ValueError:
        raise Http404("No such case.") from None
    return _image(content, image_format, request, f"{study.slug}-{public_id}-marks")


@login_required
def marks_jafroc(request, slug: str):
    """The marks as RJafroc's JAFROC workbook (``?generator=NAME`` for one generator's fakes with the real images)."""
    study = study_for_staff(request.user, slug)
    return jafroc_download(study, request.GET.get("generator"))


@login_required
def results_chart(request, slug: str, image_format: str, headline: bool = False):
    """The chart (the pooled panel and one per reader), or with ``headline`` the pooled panel alone; either drawn
    once per state of what it shows and then served from the cache (``charts.render``). Its inputs are computed on
    their own (``services.chart_results``), not with the whole statistics report."""
    study = study_for_staff(request.user, slug)
    results = services.chart_results(study)
    try:
        image = charts.render(results.table, image_format, pooled=results.called_real_pooled,
                              readers=not headline, page=int(request.GET.get("page", "1")))
    except ValueError:
        raise Http404("No such chart page.") from None
    response = HttpResponse(image, content_type=charts.FORMATS[image_format])
    disposition = "attachment" if request.GET.get("download") else "inline"
    name = "headline" if headline else "called-real"
    response["Content-Disposition"] = f'{disposition}; filename="{study.slug}-{name}.{image_format}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def my_score(request, slug: str):
    """The reader's own score (the API's ``build_own_score``: their votes only). Before the study is closed, or where
    it does not show scores, the page says so (403) and shows nothing."""
    membership = membership_for(request.user, slug)  # 404 for anyone who is not a reader of the study
    refusal = membership.study.own_score_refusal
    score = None if refusal else services.build_own_score(membership)
    return render(request, "results/my_score.html", {"study": membership.study, "refusal": refusal, "score": score},
                  status=403 if refusal else 200)


@login_required
def analysis_plan_page(request, slug: str):
    """The pre-registered analysis plan: a form while the study is a draft, the frozen plan after; beside it the
    readers x cases the plan needs (``analysis_plan.proposal``)."""
    study = study_for_staff(request.user, slug)
    plan = analysis_plan.plan_for(study)
    current = analysis_plan.plan_data(plan) or {"endpoint": "auc" if study.ask_confidence else "called_real",
                                                "test": "non_inferiority", "margin": 0.10, "alpha": 0.05,
                                                "primary": []}
    generators = list(study.sources.filter(is_real=False).values_list("name", flat=True))
    form = AnalysisPlanForm(request.POST or None, initial=current, generators=generators)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                analysis_plan.plan_set(study, request.user, **form.cleaned_data)
            except ApplicationError as error:
                messages.error(request, error.message)
                status = error.status_code
            else:
                messages.success(request, "Analysis plan registered; opening the study freezes it.")
                return redirect("analysis-plan", slug=study.slug)
        else:
            status = 400
    shown = form.cleaned_data if form.is_bound and form.is_valid() else current
    return render(request, "results/analysis_plan.html", {
        "study": study, "form": form, "plan": analysis_plan.plan_data(plan),
        "frozen": study.status != Study.Status.DRAFT,
        "proposal": analysis_plan.proposal(shown["endpoint"], shown["margin"], shown["alpha"], shown["test"]),
        # rows can be adopted only where the proposal shown is the registered plan's (not a refused form's values)
        "adoptable": plan is not None and shown is current,
        "planned_size": planned_size.planned_size_check(study, plan),
    }, status=status)


@login_required
@require_POST
def planned_size_adopt(request, slug: str):
    """Adopt a row of the registered plan's proposal as the study's planned size (``planned_size.planned_size_adopt``:
    the readers come from the button, the cases from the plan)."""
    study = study_for_staff(request.user, slug)
    form = AdoptSizeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a row of the proposal to adopt.")
    else:
        try:
            planned_size.planned_size_adopt(study, request.user, readers=form.cleaned_data["readers"])
        except ApplicationError as refusal:
            page_refusal(request, refusal)
        else:
            messages.success(request, f"Planned size: {study.planned_readers} readers x {study.planned_cases} cases, "
                                      "the registered plan's proposal. The study home's checklist shows it.")
    return redirect("analysis-plan", slug=slug)
