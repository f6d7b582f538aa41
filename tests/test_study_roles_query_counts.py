"""The study list and the results page cost a fixed number of queries however many studies the server holds (and
however many of them the user administers)."""
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import create_case, create_reader, create_study


def _queries(client: Client, path: str) -> int:
    """Queries of a warm request (the first one of a session fills caches the later ones use)."""
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def _grow(admin, start: int, count: int) -> None:
    """``count`` more studies: half administered by ``admin``, each with a case and a reader."""
    other = get_user_model().objects.get_or_create(username="someone-else", defaults={"is_staff": True})[0]
    for index in range(start, start + count):
        study = create_study(f"s{index}", status="open", admins=[admin if index % 2 else other])
        create_case(study, source="real")
        create_reader(study, username=f"r{index}")


@pytest.mark.parametrize("superuser", [False, True], ids=["study admin", "superuser"])
def test_the_study_list_costs_the_same_for_2_and_for_30_studies(db, django_assert_max_num_queries, superuser):
    admin = get_user_model().objects.create_user("admin", is_staff=True, is_superuser=superuser)
    client = Client()
    client.force_login(admin)
    _grow(admin, 0, 2)
    small = {path: _queries(client, path) for path in ("/", "/api/studies/")}
    _grow(admin, 2, 28)
    for path, count in small.items():
        with django_assert_max_num_queries(count):
            assert client.get(path).status_code == 200
    page = client.get("/").content.decode()
    assert ("/studies/s2/results/" in page) is superuser and "/studies/s3/results/" in page


def test_the_results_page_costs_the_same_for_2_and_for_30_studies(db, django_assert_max_num_queries):
    admin = get_user_model().objects.create_user("admin", is_staff=True)
    client = Client()
    client.force_login(admin)
    _grow(admin, 0, 2)
    small = _queries(client, "/studies/s1/results/")
    _grow(admin, 2, 28)
    with django_assert_max_num_queries(small):
        assert client.get("/studies/s1/results/").status_code == 200
