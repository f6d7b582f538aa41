"""The results page and its charts, for study admins (staff) only; anyone else gets 404, anonymous users the login."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from readerstudy.studies.selectors import study_for_staff

from . import charts, services


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
