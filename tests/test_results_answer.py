"""The results page leads with the answer (issue 25, point 5): at most three sentences on the main question, one
sign convention (generator minus real), p-values in one format, degenerate intervals warned, the rest folded."""
from __future__ import annotations

import re

import pytest
from django.utils import timezone

from readerstudy.results.analysis_plan import plan_set
from readerstudy.results.services import build_statistics
from readerstudy.results.summary import DEGENERATE_FULL, DEGENERATE_ZERO, format_p, interval_warning
from readerstudy.studies.models import Study
from tests.factories import create_study
from tests.test_results_mrmc import build_study, page


def test_p_values_have_one_format():
    assert format_p(0.00001) == "p < 0.0001"
    assert format_p(0.01234) == "p = 0.0123"
    assert format_p(None) == format_p(float("nan")) == "no test"


def test_degenerate_intervals_are_named():
    assert interval_warning(0.5, 0.5) == DEGENERATE_ZERO
    assert interval_warning(0.0, 1.0) == DEGENERATE_FULL
    assert interval_warning(-1.0, 1.0, (-1.0, 1.0)) == DEGENERATE_FULL
    assert interval_warning(0.2, 0.6) == ""


@pytest.fixture
def planned(db, staff_user):
    study = build_study(readers=4, slug="planned")
    Study.objects.filter(pk=study.pk).update(status="draft")
    plan_set(study, staff_user, endpoint="auc", test="non_inferiority", margin=0.10, alpha=0.05)
    Study.objects.filter(pk=study.pk).update(status="open", opened_at=timezone.now())
    return study


def test_the_answer_is_the_verdicts_in_at_most_three_sentences(planned):
    report = build_statistics(planned)
    assert 1 <= len(report["answer"]) <= 3
    assert report["answer"][0].startswith("Pre-registered non-inferiority test on the AUC (RRRC; a generator passes "
                                          "if AUC at most 0.60)")
    assert "generalising to other readers reading other cases" in report["answer"][1]


def test_without_a_plan_the_answer_says_no_generator_can_be_said_to_pass(db, staff_user):
    study = build_study(readers=3, slug="unplanned")
    answer = build_statistics(study)["answer"]
    assert "No analysis plan was registered before opening, so no generator can be said to pass" in answer[0]
    assert "generator minus real" in answer[0]


def test_without_a_plan_the_page_says_so_once_with_the_link_to_the_plan(db, client, staff_user):
    build_study(readers=3, slug="unplanned")
    html = page(client, staff_user, "unplanned")
    assert html.count("No analysis plan") == 1
    summary = html[html.index('id="summary"'):html.index("</p>", html.index('id="summary"'))]
    assert "No analysis plan was registered before opening" in summary
    assert '<a id="no-plan" href="/studies/unplanned/results/plan/">See the analysis plan</a>' in summary


def test_without_votes_or_a_plan_the_answer_still_says_it_once(db, client, staff_user):
    """No votes yet: the answer says there is none, and that no plan is registered (a draft: that it still can be)."""
    study = create_study("empty", status="draft")
    draft = build_statistics(study)["answer"]
    assert len(draft) == 1 and draft[0].endswith("No analysis plan is registered yet: register one before opening, "
                                                 "or no generator can be said to pass for real.")
    html = page(client, staff_user, "empty")
    assert html.count("No analysis plan") == 1 and ">Register the analysis plan</a>" in html


def test_the_page_leads_with_the_answer_one_sign_and_one_p_format(planned, client, staff_user):
    html = page(client, staff_user, "planned")
    assert html.index('id="summary"') < html.index('id="equivalence"') < html.index('id="headline-chart"')
    assert html.index('id="auc-panel"') < html.index('id="comparisons"')
    assert "p = &lt; " not in html and "p = < " not in html
    # the details read generator minus real too: no row starts with the real images
    details = html[html.index('id="all-analyses"'):html.index('id="planning-details"')]
    assert "Real −" not in details and "StarGAN − Real" in details
    # everything after the first screen is folded, each section with its one-line reading
    folded = re.findall(r'<details id="([a-z0-9-]+)"[^>]*><summary><h2[^>]*>[^<]+</h2> <span class="reading">([^<]+)',
                        html)
    assert len(folded) >= 8 and all(reading.strip() for _, reading in folded)


def test_a_degenerate_interval_carries_its_warning_on_the_page(db, client, staff_user):
    """Every reader calls every real image real: the real images' called-real rate is 1 with a zero-width interval."""
    study = build_study(readers=3, slug="unanimous")
    from readerstudy.reading.models import Vote

    Vote.objects.filter(case__study=study, case__source__is_real=True).update(answer="real")
    html = page(client, staff_user, "unanimous")
    table = html[html.index('id="vs-real"'):html.index('id="generator-pairs"')]
    assert "zero-width interval" in table
