"""The marks in the results: simulated readers who avoid the kept box, stored as votes and marks, are recovered by
the results (true against estimated ratio with its interval); the section, its pictures and the RJafroc workbook are
for the study's admins only (a reader gets 404); a study without marks shows nothing of it."""
import io

import numpy as np
import pytest
from django.test import Client
from openpyxl import load_workbook

from analysis.marks.regions import PixelKind
from analysis.marks.simulate import MarkingConfig, simulate_marks
from analysis.marks.statistics import box_avoidance
from readerstudy.reading.models import Mark, StudyProtocol
from readerstudy.results.marks import build_marks_results, study_marks
from tests.factories import cast_votes_fast, create_cases_fast

CONFIG = MarkingConfig(readers=4, box_kept_fakes=24, all_generated_fakes=12, real_images=24, true_ratio=0.4,
                       max_marks=3)
SOURCE_OF_KIND = {PixelKind.BOX_KEPT: "pix2pix", PixelKind.ALL_GENERATED: "stargan", PixelKind.REAL: "real"}


def store_simulated_study(study, reader_factory, config=CONFIG, seed=5):
    """The simulated study's cases (with their boxes in the provenance), votes and marks, stored as a study's."""
    simulated = simulate_marks(config, seed)
    cases = []
    for truth in simulated.cases:
        case = create_cases_fast(study, "effusion", SOURCE_OF_KIND[truth.kind], 1)[0]
        if truth.box is not None:
            case.provenance = {"bbox_224": list(truth.box)}
            case.save(update_fields=["provenance"])
        cases.append(case)
    readers = [reader_factory(study, username=f"sim{r}") for r in range(config.readers)]
    marked = {int(read) for read in simulated.mark_read}
    votes = []
    for reader in range(config.readers):
        reads = np.flatnonzero(simulated.read_reader == reader)
        answers = [(cases[simulated.read_case[read]], "fake" if read in marked else "real") for read in reads]
        votes += cast_votes_fast(readers[reader], answers)
    Mark.objects.bulk_create(
        Mark(vote=votes[int(read)], x=float(x), y=float(y), confidence=None)
        for read, x, y in zip(simulated.mark_read, simulated.mark_x, simulated.mark_y, strict=True))
    return simulated


@pytest.fixture
def marked_study(study_factory, reader_factory, staff_user):
    study = study_factory("paper", status="open")
    StudyProtocol.objects.create(study=study, marks_mode="fake")
    simulated = store_simulated_study(study, reader_factory)
    return study, simulated


def test_the_results_recover_the_simulated_readers_box_avoidance(marked_study):
    study, simulated = marked_study
    results = build_marks_results(study)
    row = next(row for row in results["box_avoidance"] if row["generator"] == "Pix2Pix" and row["finding"] == "All")
    expected = box_avoidance(simulated, np.array([c.kind == PixelKind.BOX_KEPT for c in simulated.cases]))
    assert row["marks"] == expected.marks and row["estimate"] == pytest.approx(expected.ratio.estimate)
    assert row["low"] <= CONFIG.true_ratio <= row["high"] < 1
    assert [row["source"] for row in results["marks_per_read"]] == ["Real", "StarGAN", "Pix2Pix"]


def test_the_study_knows_what_each_cases_pixels_are_from_its_provenance(marked_study):
    study, simulated = marked_study
    kinds = [case.kind for case in study_marks(study).data.cases]
    assert kinds == [case.kind for case in simulated.cases]


def test_the_localisation_figure_is_analysed_per_generator_with_its_pairs(marked_study):
    study, _ = marked_study
    localisation = build_marks_results(study)["localisation"]
    assert {row["generator"] for row in localisation["figures"]} == {"StarGAN", "Pix2Pix"}
    assert [(row["first"], row["second"]) for row in localisation["pairs"]] in (
        [("StarGAN", "Pix2Pix")], [("Pix2Pix", "StarGAN")])
    for row in localisation["figures"]:  # the OR route's reader average is the direct wAFROC's
        assert row["estimate"] == pytest.approx(localisation["direct"][row["generator"]])


def test_the_admin_sees_the_section_its_pictures_and_the_workbook(marked_study, staff_user):
    study, _ = marked_study
    client = Client()
    client.force_login(staff_user)
    page = client.get("/studies/paper/results/").content.decode()
    assert 'id="marks"' in page and "Did readers avoid the kept box?" in page
    for url, kind in (("marks/heatmap.png", "image/png"), ("marks/heatmap.svg", "image/svg+xml"),
                      ("marks/cases.png", "image/png"), ("marks/cases.svg", "image/svg+xml")):
        response = client.get(f"/studies/paper/results/{url}")
        assert (response.status_code, response["Content-Type"]) == (200, kind)
    assert client.get("/studies/paper/results/marks/cases.png?page=99").status_code == 404
    case = study.cases.filter(source__slug="pix2pix").first()
    assert client.get(f"/studies/paper/results/marks/case/{case.public_id}.png").status_code == 200
    workbook = load_workbook(io.BytesIO(client.get("/studies/paper/results/marks/jafroc.xlsx").content))
    assert workbook.sheetnames[:3] == ["Truth", "TP", "FP"]
    one = load_workbook(io.BytesIO(client.get("/studies/paper/results/marks/jafroc.xlsx?generator=Pix2Pix").content))
    truth = list(one["Truth"].iter_rows(min_row=2, values_only=True))
    assert (sum(1 for row in truth if row[1] == 1), sum(1 for row in truth if row[1] == 0)) == (24, 24)
    assert client.get("/studies/paper/results/marks/jafroc.xlsx?generator=Nope").status_code == 404
    report = b"".join(client.get("/api/studies/paper/report.md").streaming_content).decode()
    assert "## Where readers marked the images" in report and "Box avoidance" in report


def test_a_reader_sees_none_of_it(marked_study):
    study, _ = marked_study
    reader = study.memberships.first().user
    client = Client()
    client.force_login(reader)
    case = study.cases.first()
    for url in ("results/", "results/marks/heatmap.png", "results/marks/cases.svg", "results/marks/jafroc.xlsx",
                f"results/marks/case/{case.public_id}.png"):
        assert client.get(f"/studies/paper/{url}").status_code == 404, url


def test_a_study_without_marks_shows_no_marks_section(study_factory, reader_factory, staff_user):
    study = study_factory("paper", status="open")
    create_cases_fast(study, "effusion", "real", 2)
    client = Client()
    client.force_login(staff_user)
    assert build_marks_results(study) == {"asked": False}
    assert 'id="marks"' not in client.get("/studies/paper/results/").content.decode()


def test_a_study_not_asking_for_marks_reads_no_vote_to_say_so(study_factory, reader_factory,
                                                               django_assert_max_num_queries):
    """Two queries (the protocol, whether any mark exists), not every vote of the study read into Python."""
    study = study_factory("paper", status="open")
    reader = reader_factory(study, username="r1")
    cast_votes_fast(reader, [(case, "real") for case in create_cases_fast(study, "effusion", "real", 3)])
    with django_assert_max_num_queries(2):
        assert build_marks_results(study) == {"asked": False}


def test_marks_left_from_before_marks_were_switched_off_are_still_shown(marked_study):
    study, _ = marked_study
    StudyProtocol.objects.filter(study=study).update(marks_mode="off")
    result = build_marks_results(study)
    assert result["asked"] is False and result["marks"] > 0


def test_the_gallerys_case_page_shows_the_cases_marks_where_the_study_asks_for_marks(marked_study, staff_user):
    study, _ = marked_study
    client = Client()
    client.force_login(staff_user)
    case = study.cases.filter(source__slug="pix2pix").first()
    page = client.get(f"/studies/paper/cases/{case.public_id}/").content.decode()
    assert f"/studies/paper/results/marks/case/{case.public_id}.png" in page
