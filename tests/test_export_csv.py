"""The per-vote CSV: its columns, its formula neutralisation, its streaming, its filters and the command."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse

from readerstudy.reading.models import Vote
from readerstudy.results import export
from tests import factories

COLUMNS = ["study", "reader", "case", "finding", "source", "truth", "answer", "correct", "confidence", "time_ms",
           "position", "voted_at"]


@pytest.fixture
def voted_study(db):
    study = factories.create_study("export-me", status="open")
    first = factories.create_reader(study, "alice")
    second = factories.create_reader(study, "bob")
    real = factories.create_cases_fast(study, "effusion", "real", 2)
    fake = factories.create_cases_fast(study, "pneumonia", "pix2pix", 1)
    factories.cast_votes_fast(first, [(real[0], "real", 4, 1500), (fake[0], "real", None, None), (real[1], "fake")])
    factories.cast_votes_fast(second, [(fake[0], "fake", 5, 900)])
    Vote.objects.update(created_at=dt.datetime(2024, 5, 1, 9, 30, 12, 345000, tzinfo=dt.UTC))
    return study


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_has_exactly_the_issues_columns_one_row_per_vote(voted_study, client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/studies/export-me/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    rows = read_csv(text)
    assert len(rows) == 4
    assert rows[0] == {
        "study": "export-me", "reader": "R1", "case": rows[0]["case"], "finding": "Effusion", "source": "Real",
        "truth": "real", "answer": "real", "correct": "true", "confidence": "4", "time_ms": "1500", "position": "1",
        "voted_at": "2024-05-01T09:30:12.345Z",
    }


def test_export_marks_a_fake_called_real_as_incorrect_and_leaves_missing_ratings_empty(voted_study, client,
                                                                                     staff_user):
    client.force_login(staff_user)

    rows = read_csv(b"".join(client.get("/api/studies/export-me/export.csv").streaming_content).decode())

    fooled = rows[1]
    assert (fooled["source"], fooled["truth"], fooled["answer"], fooled["correct"]) == ("Pix2Pix", "fake", "real",
                                                                                      "false")
    assert (fooled["confidence"], fooled["time_ms"]) == ("", "")


def test_export_is_streamed_not_built_in_memory(voted_study, client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/studies/export-me/export.csv")

    assert isinstance(response, StreamingHttpResponse)
    assert 'attachment; filename="export-me-votes.csv"' == response["Content-Disposition"]


def test_the_stream_yields_the_header_first_and_then_chunks_of_rows():
    rows = [("s", 1, "u", f"case{i}", "Effusion", "Real", True, "real", None, None, i,
             dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) for i in range(export.ROWS_PER_CHUNK + 1)]

    chunks = list(export.stream_csv(iter(rows)))

    assert chunks[0] == ",".join(COLUMNS) + "\r\n"
    assert [chunk.count("\n") for chunk in chunks[1:]] == [export.ROWS_PER_CHUNK, 1]


def test_one_readers_votes_by_pseudonym(voted_study, client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/studies/export-me/export.csv?reader=R2")

    rows = read_csv(b"".join(response.streaming_content).decode())
    assert [row["reader"] for row in rows] == ["R2"]
    assert 'filename="export-me-votes-R2.csv"' in response["Content-Disposition"]


def test_usernames_only_when_the_admin_asks(voted_study, client, staff_user):
    client.force_login(staff_user)

    plain = b"".join(client.get("/api/studies/export-me/export.csv").streaming_content).decode()
    named = b"".join(client.get("/api/studies/export-me/export.csv?usernames=1").streaming_content).decode()

    assert "alice" not in plain and "bob" not in plain
    assert named.splitlines()[0].startswith("study,reader,username,case,")
    assert [row["username"] for row in read_csv(named)] == ["alice", "alice", "alice", "bob"]


def test_an_unknown_reader_is_a_400_naming_the_field(voted_study, client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/studies/export-me/export.csv?reader=R9")

    assert response.status_code == 400
    assert "R9" in response.json()["errors"]["reader"][0]


def test_a_malformed_reader_is_a_400_naming_the_field(voted_study, client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/studies/export-me/export.csv?reader=alice")

    assert response.status_code == 400
    assert "reader" in response.json()["errors"]


def test_an_accept_header_asking_for_csv_still_gets_the_csv(voted_study, client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/studies/export-me/export.csv", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200


@pytest.mark.parametrize("dangerous", ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_cells_that_start_like_a_formula_are_neutralised(dangerous):
    assert export.neutralise(dangerous) == "'" + dangerous


def test_ordinary_cells_are_left_alone():
    assert [export.neutralise(value) for value in ("Pix2Pix-N", 1500, None, "R2")] == ["Pix2Pix-N", "1500", "", "R2"]


def test_a_username_that_is_a_formula_reaches_the_file_neutralised(voted_study, client, staff_user):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="bob").update(username="=cmd|' /C calc'!A0")
    client.force_login(staff_user)

    rows = read_csv(b"".join(client.get("/api/studies/export-me/export.csv?usernames=1").streaming_content).decode())

    assert rows[-1]["username"] == "'=cmd|' /C calc'!A0"


def test_export_votes_command_writes_the_same_csv(voted_study):
    out = io.StringIO()

    call_command("export_votes", study="export-me", reader="R1", stdout=out)

    rows = read_csv(out.getvalue())
    assert [row["position"] for row in rows] == ["1", "2", "3"]
    assert set(rows[0]) == set(COLUMNS)


def test_export_votes_command_writes_a_file_atomically(voted_study, tmp_path):
    target = tmp_path / "votes.csv"

    call_command("export_votes", study="export-me", output=str(target), stderr=io.StringIO())

    assert len(read_csv(target.read_text())) == 4
    assert not (tmp_path / "votes.csv.tmp").exists()


def test_export_votes_command_refuses_an_unknown_reader(voted_study):
    with pytest.raises(CommandError, match="no reader 'R7'"):
        call_command("export_votes", study="export-me", reader="R7")


def test_export_votes_command_refuses_an_unknown_study(db):
    with pytest.raises(CommandError, match="No study with slug 'ghost'"):
        call_command("export_votes", study="ghost")


def test_a_study_without_votes_exports_just_the_header(db, client, staff_user):
    factories.create_study("silent")
    client.force_login(staff_user)

    text = b"".join(client.get("/api/studies/silent/export.csv").streaming_content).decode()

    assert text == ",".join(COLUMNS) + "\r\n"
