"""Django admin is operator access like any other (issue 29): every page a superuser opens writes an
``operator_access`` entry to each study it shows or changes and carries ``X-Operator-Access``; votes are read-only."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from readerstudy.reading.models import Vote
from readerstudy.studies.models import AuditEntry
from readerstudy.studies.operator import OPERATOR_HEADER
from tests.factories import cast_votes_fast, create_cases_fast


def _operator() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="a-long-password-1"))
    return client


def test_listing_cases_in_the_admin_is_audited_per_study_with_the_header(study_factory):
    lung, heart = study_factory("lung", status="open"), study_factory("heart", status="open")
    create_cases_fast(lung, "effusion", "pix2pix", 2)
    create_cases_fast(heart, "effusion", "real", 2)
    response = _operator().get("/admin/studies/case/")
    assert response.status_code == 200 and OPERATOR_HEADER in response
    audited = set(AuditEntry.objects.filter(action="operator_access").values_list("study__slug", "new_value"))
    assert audited == {("lung", "GET /admin/studies/case/"), ("heart", "GET /admin/studies/case/")}


def test_votes_are_read_only_in_the_admin_and_looking_at_one_is_audited(study_factory, reader_factory):
    study = study_factory("paper", status="open")
    case = create_cases_fast(study, "effusion", "pix2pix", 1)[0]
    vote = cast_votes_fast(reader_factory(study), [(case, "fake")])[0]
    operator = _operator()
    page = operator.get(f"/admin/reading/vote/{vote.pk}/change/")
    assert page.status_code == 200 and OPERATOR_HEADER in page and 'name="answer"' not in page.content.decode()
    edit = operator.post(f"/admin/reading/vote/{vote.pk}/change/", {"answer": "real"})
    assert edit.status_code == 403
    assert operator.get("/admin/reading/vote/add/").status_code == 403
    assert operator.post(f"/admin/reading/vote/{vote.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Vote.objects.get().answer == "fake"
    assert AuditEntry.objects.filter(study=study, action="operator_access").count() >= 2


def test_the_admin_index_carries_the_header_too(db):
    response = _operator().get("/admin/")
    assert response.status_code == 200 and OPERATOR_HEADER in response
