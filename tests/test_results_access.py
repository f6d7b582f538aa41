"""Who sees results: staff only (everyone else 404, anonymous users the login page or a 401/403), readers their own
score once the study is closed and only if it allows it; the results page and its chart; fixed query counts."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from readerstudy.results import services
from tests import factories

PAGES = ["/studies/{slug}/results/", "/studies/{slug}/results/chart.png", "/studies/{slug}/results/chart.svg"]
ADMIN_API = ["/api/studies/{slug}/table1/", "/api/studies/{slug}/statistics/", "/api/studies/{slug}/export.csv"]
MY_SCORE = "/api/studies/{slug}/my-score/"


@pytest.fixture
def study(db):
    study = factories.create_study("access", status="open", ask_confidence=True)
    reader = factories.create_reader(study, "reader")
    other = factories.create_reader(study, "other-reader")
    real = factories.create_cases_fast(study, "effusion", "real", 3)
    fake = factories.create_cases_fast(study, "effusion", "stargan", 3)
    factories.cast_votes_fast(reader, [
        (real[0], "real", 5, 800), (real[1], "real", 4, 900), (real[2], "fake", 2, 700),
        (fake[0], "fake", 5, 600), (fake[1], "real", 3, 1200), (fake[2], "fake", 4, 400),
    ])
    factories.cast_votes_fast(other, [(real[0], "fake", 1, 300), (fake[0], "real", 1, 300)])
    return study


@pytest.fixture
def users(db, staff_user):
    outsider = get_user_model().objects.create_user("outsider", password="outsider-pass-123")
    return {"staff": staff_user, "outsider": outsider, "reader": factories.create_reader(None, "reader")}


def login(client, users, role):
    if role != "anonymous":
        client.force_login(users[role])


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(("role", "expected"), [("anonymous", 302), ("outsider", 404), ("reader", 404),
                                                ("staff", 200)])
def test_result_pages_are_for_staff_only(study, users, client, url, role, expected):
    login(client, users, role)

    response = client.get(url.format(slug=study.slug))

    assert response.status_code == expected
    if role == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", ADMIN_API)
@pytest.mark.parametrize(("role", "expected"), [("anonymous", (401, 403)), ("outsider", (404,)), ("reader", (404,)),
                                                ("staff", (200,))])
def test_results_api_is_for_staff_only(study, users, client, url, role, expected):
    login(client, users, role)

    response = client.get(url.format(slug=study.slug))

    assert response.status_code in expected


@pytest.mark.parametrize("url", [*PAGES, *ADMIN_API])
def test_an_unknown_study_is_404_for_staff_too(users, client, url):
    client.force_login(users["staff"])

    assert client.get(url.format(slug="no-such-study")).status_code == 404


@pytest.mark.parametrize(("role", "expected"), [("anonymous", (401, 403)), ("outsider", (404,)), ("staff", (404,)),
                                                ("reader", (403,))])
def test_my_score_while_the_study_is_open(study, users, client, role, expected):
    login(client, users, role)

    assert client.get(MY_SCORE.format(slug=study.slug)).status_code in expected


def test_my_score_is_refused_after_closing_when_the_study_does_not_show_scores(study, users, client):
    study.status = "closed"
    study.save()
    client.force_login(users["reader"])

    response = client.get(MY_SCORE.format(slug=study.slug))

    assert response.status_code == 403
    assert "does not show" in response.json()["detail"]


def test_my_score_after_closing_when_allowed_shows_only_the_readers_own_numbers(study, users, client):
    study.status = "closed"
    study.show_own_score_when_closed = True
    study.save()
    client.force_login(users["reader"])

    response = client.get(MY_SCORE.format(slug=study.slug))

    assert response.status_code == 200
    body = response.json()
    assert (body["reader"], body["votes"], body["correct"]) == ("R1", 6, 4)
    assert body["accuracy"] == pytest.approx(4 / 6)
    assert body["sensitivity"] == pytest.approx(2 / 3)
    assert body["specificity"] == pytest.approx(2 / 3)
    assert [row["source"] for row in body["by_source"]] == ["Real", "StarGAN", "Pix2Pix", "Pix2Pix-N"]
    assert "R2" not in str(body)


MY_SCORE_PAGE = "/studies/{slug}/my-score/"


@pytest.mark.parametrize(("status", "shows", "expected", "says"), [
    ("open", True, 403, "once the study is closed"), ("paused", True, 403, "once the study is closed"),
    ("closed", False, 403, "does not show readers their score")])
def test_the_score_page_shows_nothing_before_closing_or_where_the_study_does_not_show_scores(
        study, users, client, status, shows, expected, says):
    study.status, study.show_own_score_when_closed = status, shows
    study.save()
    client.force_login(users["reader"])
    response = client.get(MY_SCORE_PAGE.format(slug=study.slug))
    page = response.content.decode()
    assert response.status_code == expected and says in page and 'id="my-score-by-source"' not in page


def test_the_score_page_after_closing_shows_the_readers_own_numbers_and_no_one_elses(study, users, client):
    study.status, study.show_own_score_when_closed = "closed", True
    study.save()
    client.force_login(users["reader"])
    response = client.get(MY_SCORE_PAGE.format(slug=study.slug))
    page = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert "Of the <strong>6</strong> images you judged, you judged <strong>4</strong> correctly (67%)" in page
    assert "<dt>Generated images called generated</dt><dd>67%" in page
    assert '<th scope="row">StarGAN</th><td class="num">3</td><td class="num">1</td><td class="num">2</td>' in page
    assert "R2" not in page and "other-reader" not in page
    for role in ("outsider", "staff"):  # not a reader of the study: as if it did not exist
        client.force_login(users[role])
        assert client.get(MY_SCORE_PAGE.format(slug=study.slug)).status_code == 404


def test_the_results_page_shows_table1_statistics_and_the_chart(study, users, client):
    client.force_login(users["staff"])

    page = client.get(f"/studies/{study.slug}/results/").content.decode()

    assert 'id="table1"' in page
    assert "<td>Effusion</td><td>2|0</td><td>1|1</td>" in page  # Real: R1 called 2 real, R2 none; StarGAN: 1 each
    for section in ("pooled-rates", "detection", "by-generator", "agreement", "auc", "reading-time"):
        assert f'id="{section}"' in page
    assert f"/studies/{study.slug}/results/chart.png" in page
    assert f"/studies/{study.slug}/results/chart.svg?download=1" in page


def test_the_chart_is_a_png_and_an_svg_that_can_be_downloaded(study, users, client):
    client.force_login(users["staff"])

    png = client.get(f"/studies/{study.slug}/results/chart.png?download=1")
    svg = client.get(f"/studies/{study.slug}/results/chart.svg")

    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert png["Content-Disposition"].startswith("attachment;")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_the_statistics_api_answers_an_empty_study_with_zeros(users, client):
    factories.create_study("nothing-yet")
    client.force_login(users["staff"])

    body = client.get("/api/studies/nothing-yet/statistics/").json()

    assert body["n_votes"] == 0
    assert {cell["n"] for cell in body["called_real"]} == {0}


def grow(study, readers: int, cases_per_source: int) -> None:
    """Add readers who each vote on a fresh set of cases."""
    for _ in range(readers):
        membership = factories.create_reader(study)
        cases = [case for source in ("real", "pix2pix")
                 for case in factories.create_cases_fast(study, "pneumonia", source, cases_per_source)]
        factories.cast_votes_fast(membership, [(case, "real" if i % 3 else "fake", 1 + i % 5, 100 + i)
                                               for i, case in enumerate(cases)])


# layout (3) + grouped count + excluded cases / layout (3) + cases + votes + excluded cases
# statistics: the layout, cases, votes and excluded cases, and the analysis plan (one more for its primary comparisons
# where a plan exists)
QUERIES = {"build_table1": 5, "build_statistics": 7}


@pytest.mark.parametrize("build", [services.build_table1, services.build_statistics], ids=["table1", "statistics"])
def test_query_count_stays_fixed_as_votes_and_readers_grow(study, build, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERIES[build.__name__]):
        small = build(study)
    grow(study, readers=5, cases_per_source=20)
    with django_assert_max_num_queries(QUERIES[build.__name__]):
        large = build(study)

    readers = large.readers if hasattr(large, "readers") else large["readers"]
    assert len(readers) == 7 and small is not large


def test_the_chart_of_a_300_reader_study_is_bounded_and_pages_the_readers(db, staff_user, client):
    """At most 8 reader panels to a chart (the probe's 300 panels took 29 s and 700 MB), the rest on later pages, and a
    chart drawn once is served from the cache until a vote changes its counts."""
    import time

    from django.core.cache import cache

    from readerstudy.results import charts

    cache.clear()
    study = factories.create_study("crowd", status="open")
    cases = factories.create_cases_fast(study, "effusion", "real", 2) + \
        factories.create_cases_fast(study, "effusion", "stargan", 2)
    for number in range(300):
        reader = factories.create_reader(study, f"crowd{number}")
        factories.cast_votes_fast(reader, [(case, "real" if (number + index) % 3 else "fake")
                                           for index, case in enumerate(cases)])
    client.force_login(staff_user)
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        response = client.get("/studies/crowd/results/chart.png")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    print(f"chart of 300 readers: first {timings[0]:.2f} s, again {timings[1]:.3f} s")
    assert timings[1] < 2.0
    table = services.build_table1(study)
    assert len(charts.results_figure(table).axes) == 1 + charts.READER_PANELS_PER_PAGE
    assert len(charts.results_figure(table, page=38).axes) == 1 + 300 - 37 * charts.READER_PANELS_PER_PAGE
    assert client.get("/studies/crowd/results/chart.png?page=38").status_code == 200
    assert client.get("/studies/crowd/results/chart.png?page=39").status_code == 404
