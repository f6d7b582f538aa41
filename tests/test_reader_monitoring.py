"""Monitoring readers: progress, time on image and flags (too fast, one-sided) with their thresholds named, on the
readers page and in the API; the study's pages cost a fixed number of queries however many readers and votes."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from readerstudy.reading import lifecycle, monitoring
from readerstudy.reading.models import SequenceSlot, Vote
from readerstudy.reading.services import freeze_sequence
from tests.factories import create_case, create_reader

N_CASES = 12


@pytest.fixture
def study(study_factory, staff_user):
    study = study_factory("paper")
    for index in range(N_CASES):
        create_case(study, source="real" if index % 2 else "pix2pix")
    return study


def read_all(membership, *, time_ms, answer=None) -> None:
    """Votes on each case of the reader's sequence, with ``time_ms`` each (``answer``: always it, else alternating)."""
    slots = SequenceSlot.objects.filter(membership=membership, phase="study", is_repeat=False).order_by("position")
    Vote.objects.bulk_create(
        Vote(membership=membership, case_id=slot.case_id, position=slot.position, time_ms=time_ms + slot.position,
             answer=answer or ("real" if slot.position % 2 else "fake"))
        for slot in slots)


def open_with_readers(study, staff_user, specs):
    members = [create_reader(study, username=name) for name, *_ in specs]
    lifecycle.study_transition(study, staff_user, "open")
    for membership, (_name, time_ms, answer) in zip(members, specs, strict=True):
        if time_ms is not None:
            read_all(membership, time_ms=time_ms, answer=answer)
    return members


def test_fast_and_one_sided_readers_are_flagged_with_the_threshold_named(study, staff_user, staff_api):
    open_with_readers(study, staff_user, [("careful", 4000, None), ("clicker", 40, None),
                                          ("always-real", 3000, "real"), ("idle", None, None)])
    data = staff_api.get("/api/studies/paper/readers/monitoring/").json()
    by_name = {row["username"]: row for row in data["readers"]}

    assert by_name["careful"]["flags"] == [] and by_name["careful"]["median_ms"] == 4000 + 6  # positions 1..12
    assert by_name["careful"]["fastest_ms"] == 4001 and by_name["careful"]["answered"] == N_CASES
    assert [flag["flag"] for flag in by_name["clicker"]["flags"]] == ["fast"]
    assert f"below {monitoring.FAST_MEDIAN_MS} ms" in by_name["clicker"]["flags"][0]["why"]
    assert [flag["flag"] for flag in by_name["always-real"]["flags"]] == ["one_sided"]
    assert by_name["always-real"]["top_share"] == 1.0
    assert by_name["idle"]["median_ms"] is None and by_name["idle"]["flags"] == []
    assert data["thresholds"]["fast_median_ms"] == monitoring.FAST_MEDIAN_MS
    assert data["reminder_url"].endswith("/studies/paper/read/")


def test_the_readers_page_names_the_thresholds_and_shows_the_flags(study, staff_user):
    open_with_readers(study, staff_user, [("clicker", 40, None)])
    client = Client()
    client.force_login(staff_user)
    text = client.get("/studies/paper/readers/").content.decode()
    assert f"median time on an image below {monitoring.FAST_MEDIAN_MS} ms" in text
    assert "too fast" in text and "/studies/paper/read/" in text


def test_flags_wait_for_enough_answers(study, staff_user, staff_api):
    (membership,) = open_with_readers(study, staff_user, [("new", None, None)])
    slot = SequenceSlot.objects.filter(membership=membership, phase="study").first()
    Vote.objects.create(membership=membership, case_id=slot.case_id, position=slot.position, time_ms=10,
                        answer="real")
    row = staff_api.get("/api/studies/paper/readers/monitoring/").json()["readers"][0]
    assert row["median_ms"] == 10 and row["flags"] == []


def _queries(client: Client, path: str) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


PAGES = ("/studies/paper/", "/studies/paper/readers/", "/api/studies/paper/readers/monitoring/",
         "/api/studies/paper/", "/studies/paper/audit/", "/new-study/")


def test_the_study_pages_cost_the_same_for_2_and_for_20_readers(study, staff_user, django_assert_max_num_queries):
    client = Client()
    client.force_login(staff_user)
    open_with_readers(study, staff_user, [(f"a{index}", 900, None) for index in range(2)])
    small = {path: _queries(client, path) for path in PAGES}
    members = [create_reader(study, username=f"b{index}") for index in range(18)]
    for membership in members:
        freeze_sequence(membership)
        read_all(membership, time_ms=300)
    assert Vote.objects.count() == 20 * N_CASES
    for path, count in small.items():
        with django_assert_max_num_queries(count):
            assert client.get(path).status_code == 200
    print("queries at 2 readers:", small, "at 20:", {path: _queries(client, path) for path in PAGES})
