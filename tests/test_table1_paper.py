"""The paper's Table 1, rebuilt from votes: 6 findings x 4 sources x 25 cases, two readers, every cell checked."""
from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from readerstudy.results.services import build_table1
from tests import factories

SOURCES = ["real", "stargan", "pix2pix", "pix2pix-n"]
# The paper's Table 1: images judged real by R1|R2, per finding, for Real, StarGAN, Pix2Pix, Pix2Pix-N.
PAPER = {
    "Atelectasis": ["25|25", "2|0", "12|2", "19|6"],
    "Cardiomegaly": ["25|25", "2|0", "18|4", "21|8"],
    "Effusion": ["25|24", "5|0", "11|3", "17|6"],
    "Infiltration": ["25|25", "6|0", "11|3", "18|10"],
    "Pneumonia": ["25|25", "0|0", "14|4", "19|11"],
    "Pneumothorax": ["25|25", "0|0", "13|2", "14|4"],
}
PAPER_TOTAL = ["150|149", "15|0", "79|18", "108|45"]
CASES_PER_CELL = 25


@pytest.fixture
def paper_study(db):
    """The reader study of the paper: 600 cases, two readers whose votes give exactly the published counts."""
    study = factories.create_study("paper", status="closed")
    first, second = factories.create_reader(study, "reader-one"), factories.create_reader(study, "reader-two")
    first_votes, second_votes = [], []
    for finding, cells in PAPER.items():
        for source, cell in zip(SOURCES, cells, strict=True):
            cases = factories.create_cases_fast(study, finding.lower(), source, CASES_PER_CELL)
            judged_real = [int(count) for count in cell.split("|")]
            for votes, real_count in zip((first_votes, second_votes), judged_real, strict=True):
                votes += [(case, "real" if index < real_count else "fake") for index, case in enumerate(cases)]
    factories.cast_votes_fast(first, first_votes)
    factories.cast_votes_fast(second, second_votes)
    return study


def test_table1_reproduces_every_cell_of_the_paper(paper_study):
    table = build_table1(paper_study)

    assert table.readers == ["R1", "R2"]
    assert table.sources == ["Real", "StarGAN", "Pix2Pix", "Pix2Pix-N"]
    assert table.findings == list(PAPER)
    for row, (finding, cells) in enumerate(PAPER.items()):
        assert [table.cell_text(row, column) for column in range(4)] == cells, finding


def test_table1_total_row_matches_the_paper(paper_study):
    table = build_table1(paper_study)

    assert table.rows[-1] == "Total"
    assert [table.cell_text(len(PAPER), column) for column in range(4)] == PAPER_TOTAL


def test_table1_cells_carry_how_many_votes_each_count_is_out_of(paper_study):
    table = build_table1(paper_study).as_dict()

    assert all(cell["votes"] == [25, 25] for row in table["rows"][:-1] for cell in row["cells"])
    assert all(cell["votes"] == [150, 150] for cell in table["rows"][-1]["cells"])


def test_table1_api_returns_the_paper_table_as_json(paper_study, client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/studies/paper/table1/")

    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == ["Real", "StarGAN", "Pix2Pix", "Pix2Pix-N"]
    assert {row["finding"]: [cell["text"] for cell in row["cells"]] for row in body["rows"]} == {
        **PAPER, "Total": PAPER_TOTAL
    }


def test_table1_command_writes_csv(paper_study):
    out = io.StringIO()

    call_command("table1", study="paper", format="csv", stdout=out)

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["Finding", "Real", "StarGAN", "Pix2Pix", "Pix2Pix-N"]
    assert rows[1] == ["Atelectasis", *PAPER["Atelectasis"]]
    assert rows[-1] == ["Total", *PAPER_TOTAL]


def test_table1_command_writes_markdown_with_escaped_separators(paper_study):
    out = io.StringIO()

    call_command("table1", study="paper", format="md", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "| Finding | Real | StarGAN | Pix2Pix | Pix2Pix-N |"
    assert lines[2] == r"| Atelectasis | 25\|25 | 2\|0 | 12\|2 | 19\|6 |"
    assert lines[8] == r"| **Total** | 150\|149 | 15\|0 | 79\|18 | 108\|45 |"


def test_table1_command_writes_json(paper_study):
    out = io.StringIO()

    call_command("table1", study="paper", format="json", stdout=out)

    assert json.loads(out.getvalue())["rows"][-1]["cells"][3]["called_real"] == [108, 45]


def test_table1_command_refuses_an_unknown_format(paper_study):
    with pytest.raises(CommandError, match="Unknown format 'xlsx'"):
        call_command("table1", study="paper", format="xlsx")


def test_table1_command_refuses_an_unknown_study(db):
    with pytest.raises(CommandError, match="No study with slug 'nope'"):
        call_command("table1", study="nope", format="csv")


def test_a_study_without_votes_gives_a_table_of_zeros(db):
    study = factories.create_study("empty")
    factories.create_reader(study)
    factories.create_reader(study)

    table = build_table1(study)

    assert len(table.rows) == 7
    assert {table.cell_text(row, column) for row in range(7) for column in range(4)} == {"0|0"}


def test_a_reader_without_votes_shows_zeros_beside_the_others(paper_study):
    factories.create_reader(paper_study, "late-reader")

    table = build_table1(paper_study)

    assert table.readers == ["R1", "R2", "R3"]
    assert table.cell_text(len(PAPER), 0) == "150|149|0"


def test_statistics_of_the_paper_study_follow_from_its_table(paper_study, client, staff_user):
    client.force_login(staff_user)

    body = client.get("/api/studies/paper/statistics/").json()

    second = next(cell for cell in body["detection"]
                  if (cell["reader"], cell["finding"], cell["generator"]) == ("R2", "All", "All"))
    # R2 called 149 of 150 reals real and 0 + 18 + 45 of 450 fakes real
    assert (second["tn"], second["fp"], second["tp"], second["fn"]) == (149, 1, 387, 63)
    assert second["accuracy"] == pytest.approx(536 / 600)
    stargan = next(cell for cell in body["called_real"]
                   if (cell["reader"], cell["finding"], cell["source"]) == ("Pooled", "All", "StarGAN"))
    assert (stargan["called_real"], stargan["n"]) == (15, 300)
    assert body["agreement"]["overall"]["method"] == "cohen"
    assert body["prevalence_real"] == pytest.approx(0.25)
