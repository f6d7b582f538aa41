"""The results page and its charts, for study admins (staff) only; anyone else gets 404, anonymous users the login."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from readerstudy.errors import ApplicationError
from readerstudy.studies.models import Study
from readerstudy.studies.selectors import study_for_staff

from . import analysis_plan, charts, services
from .forms import AnalysisPlanForm


@login_required
def results(request, slug: str):
    study = study_for_staff(request.user, slug)
    return render(request, "results/results.html", services.results_page_context(study))


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
        "proposal": analysis_plan.proposal(shown["endpoint"], shown["margin"], shown["alpha"]),
    }, status=status)
