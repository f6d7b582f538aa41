"""The change attraction in the results: simulated readers drawn to what StarGAN changed, their fakes and origins
stored as a study's cases and origin files, are recovered by the results (true against estimated ratio with its
interval); the page, the report and the marked-cases picture show it to the study's admins; a study whose batch
carried no origins says so in one line; a reader gets none of it."""
import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from analysis.marks.changes import change_attraction
from analysis.marks.simulate import ChangeMarkingConfig, simulate_change_marks
from readerstudy.reading.models import Mark, StudyProtocol
from readerstudy.results.marks import build_marks_results, case_change_map, study_marks
from tests.factories import cast_votes_fast, create_cases_fast

CONFIG = ChangeMarkingConfig(readers=4, fakes=16, true_ratio=2.0)
NO_ORIGINS = "StarGAN origins not in the batch: no change map"


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def store_simulated_study(study, reader_factory, *, with_origins: bool = True, seed: int = 3):
    """The simulated fakes as StarGAN cases (their pixels stored), their origins as origin files, and the marks."""
    simulated = simulate_change_marks(CONFIG, seed)
    cases = create_cases_fast(study, "effusion", "stargan", CONFIG.fakes)
    for case, fake, origin in zip(cases, simulated.fakes, simulated.origins, strict=True):
        case.image = default_storage.save("cases/fake.png", ContentFile(png(fake)))
        if with_origins:
            case.origin_file = default_storage.save("origins/origin.png", ContentFile(png(origin)))
        case.save(update_fields=["image", "origin_file"])
    readers = [reader_factory(study, username=f"sim{r}") for r in range(CONFIG.readers)]
    data = simulated.data
    votes = []
    for reader in range(CONFIG.readers):
        reads = np.flatnonzero(data.read_reader == reader)
        votes += cast_votes_fast(readers[reader], [(cases[data.read_case[read]], "fake") for read in reads])
    Mark.objects.bulk_create(Mark(vote=votes[int(read)], x=float(x), y=float(y), confidence=None)
                             for read, x, y in zip(data.mark_read, data.mark_x, data.mark_y, strict=True))
    return simulated


@pytest.fixture
def changed_study(study_factory, reader_factory, staff_user):
    study = study_factory("paper", status="open")
    StudyProtocol.objects.create(study=study, marks_mode="fake")
    return study, store_simulated_study(study, reader_factory)


def test_the_results_recover_the_simulated_readers_pull_toward_what_stargan_changed(changed_study):
    study, simulated = changed_study
    change = build_marks_results(study)["change"]
    row = next(row for row in change["rows"] if row["generator"] == "StarGAN" and row["finding"] == "All")
    expected = change_attraction(simulated.data, np.ones(CONFIG.fakes, dtype=bool), simulated.masks)
    assert row["marks"] == expected.marks and row["estimate"] == pytest.approx(expected.ratio.estimate)
    assert row["area_share"] == pytest.approx(0.25, abs=0.02)
    assert 1 < row["low"] <= CONFIG.true_ratio <= row["high"]
    assert change["notes"] == []


def test_the_change_map_is_the_stored_fake_against_its_stored_origin(changed_study):
    study, simulated = changed_study
    marks = study_marks(study)
    expected = np.abs(simulated.fakes[0].astype(float) - simulated.origins[0].astype(float)) / 255
    assert np.allclose(case_change_map(marks, 0), expected)


def test_the_admin_sees_the_figure_on_the_page_in_the_report_and_the_tinted_cases(changed_study, staff_user):
    study, _ = changed_study
    client = Client()
    client.force_login(staff_user)
    page = client.get("/studies/paper/results/").content.decode()
    assert "Did readers mark what StarGAN changed?" in page and 'id="marks-change-attraction"' in page
    assert NO_ORIGINS not in page
    report = b"".join(client.get("/api/studies/paper/report.md").streaming_content).decode()
    assert "### Change attraction" in report
    case = study.cases.first()
    for url in ("marks/cases.png", f"marks/case/{case.public_id}.png"):
        response = client.get(f"/studies/paper/results/{url}")
        assert (response.status_code, response["Content-Type"]) == (200, "image/png")


def test_a_study_whose_batch_carried_no_origins_says_so_in_one_line(study_factory, reader_factory, staff_user):
    study = study_factory("paper", status="open")
    StudyProtocol.objects.create(study=study, marks_mode="fake")
    store_simulated_study(study, reader_factory, with_origins=False)
    assert build_marks_results(study)["change"] == {"rows": [], "notes": [NO_ORIGINS], "quantile": 0.75}
    client = Client()
    client.force_login(staff_user)
    assert client.get("/studies/paper/results/").content.decode().count(NO_ORIGINS) == 1
    report = b"".join(client.get("/api/studies/paper/report.md").streaming_content).decode()
    assert NO_ORIGINS in report


def test_a_reader_gets_none_of_it(changed_study):
    study, _ = changed_study
    client = Client()
    client.force_login(study.memberships.first().user)
    case = study.cases.first()
    for url in ("results/", "results/marks/cases.png", f"results/marks/case/{case.public_id}.png"):
        assert client.get(f"/studies/paper/{url}").status_code == 404, url
