"""The results page and its charts, for study admins (staff) only (anyone else gets 404, anonymous users the login);
and a reader's own score, for the reader alone, once the study is closed and where the study shows it."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from readerstudy.reading.selectors import membership_for
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


@login_required
def my_score(request, slug: str):
    """The reader's own score (the API's ``build_own_score``: their votes only). Before the study is closed, or where
    it does not show scores, the page says so (403) and shows nothing."""
    membership = membership_for(request.user, slug)  # 404 for anyone who is not a reader of the study
    refusal = membership.study.own_score_refusal
    score = None if refusal else services.build_own_score(membership)
    return render(request, "results/my_score.html", {"study": membership.study, "refusal": refusal, "score": score},
                  status=403 if refusal else 200)
