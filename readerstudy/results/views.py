"""The results page and its charts, for study admins (staff) only (anyone else gets 404, anonymous users the login);
and a reader's own score, for the reader alone, once the study is closed and where the study shows it."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from readerstudy.reading.selectors import membership_for
from readerstudy.studies.selectors import study_for_staff

from . import charts, marks, marks_charts, services
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
