"""The case gallery and the case view: study admins see the study's images by finding x source, paged and filtered,
with thumbnails made from the stored bytes, and each case at full size with its provenance; nobody else sees any."""
from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from readerstudy.batches.models import Batch
from readerstudy.gallery import selectors
from readerstudy.gallery.selectors import PER_CELL, GalleryFilter, gallery_page
from tests import factories
from tests.factories import LOGIN, access_outcome

ACTORS = ("anonymous", "reader", "outsider", "staff")


@pytest.fixture
def study(study_factory, case_factory):
    study = study_factory("paper", status="draft")
    for finding in ("effusion", "pneumonia"):
        for source in ("real", "pix2pix"):
            for _ in range(2):
                case_factory(study, finding=finding, source=source)
    return study


@pytest.fixture
def clients(study, reader_factory, staff_user, study_factory):
    """A client per actor: anonymous, a reader of the study, a reader of another study, the study admin."""
    other = study_factory("other", status="open")
    users = {"anonymous": None, "reader": reader_factory(study, username="reader").user,
             "outsider": reader_factory(other, username="outsider").user, "staff": staff_user}
    found = {}
    for actor, user in users.items():
        found[actor] = Client()
        if user is not None:
            found[actor].force_login(user)
    return found


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def thumbnail_links(html: str) -> list[str]:
    return re.findall(r'src="(/studies/paper/cases/[^/]+/thumb\.png)"', html)


def test_the_gallery_shows_every_finding_x_source_cell_with_its_cases(clients, study):
    response = clients["staff"].get("/studies/paper/cases/")
    html = response.content.decode()
    assert response.status_code == 200
    for finding in ("effusion", "pneumonia"):
        for source in ("real", "pix2pix"):
            cell = re.search(rf'<td data-finding="{finding}" data-source="{source}">(.*?)</td>', html, re.S).group(1)
            assert len(thumbnail_links(cell)) == 2
    assert len(thumbnail_links(html)) == study.cases.count()
    assert html.count('loading="lazy"') == study.cases.count()


def test_the_gallery_pages_each_cell_and_filters_by_finding_source_and_state(study, case_factory):
    extra = [case_factory(study, finding="effusion", source="real") for _ in range(PER_CELL)]  # 8 in that cell
    first = gallery_page(study, GalleryFilter())
    second = gallery_page(study, GalleryFilter(page=2))
    cell = lambda page, f, s: next(c for _, cells in page.rows for c in cells  # noqa: E731
                                   if c.finding.slug == f and c.source.slug == s)
    assert (first.pages, len(cell(first, "effusion", "real").cases), len(cell(second, "effusion", "real").cases)) \
        == (2, PER_CELL, 2)
    assert [c.pk for c in cell(second, "effusion", "real").cases] == [c.pk for c in extra[-2:]]
    assert cell(second, "pneumonia", "pix2pix").cases == []

    only = gallery_page(study, GalleryFilter(finding="effusion", source="real"))
    assert [(f.slug, [c.source.slug for c in cells]) for f, cells in only.rows] == [("effusion", ["real"])]
    assert only.pages == 1 and len(only.rows[0][1][0].cases) == PER_CELL + 2  # one cell: a bigger page

    extra[0].excluded_at, extra[0].exclusion_reason = extra[0].created_at, "blank"
    extra[0].save()
    excluded = gallery_page(study, GalleryFilter(state="excluded"))
    assert [c.pk for _, cells in excluded.rows for cell_ in cells for c in cell_.cases] == [extra[0].pk]
    assert (excluded.total, gallery_page(study, GalleryFilter()).excluded) == (1, 1)
    assert gallery_page(study, GalleryFilter(state="included")).total == study.cases.count() - 1


def test_a_bad_filter_falls_back_to_the_defaults():
    wanted = GalleryFilter.from_query({"page": "x", "state": "everything", "finding": "<script>"})
    assert (wanted.page, wanted.state) == (1, "all")


def test_the_gallery_page_costs_the_same_few_queries_however_many_cases(study, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        small = gallery_page(study, GalleryFilter())
    factories.create_cases_fast(study, "effusion", "stargan", 150)
    with django_assert_max_num_queries(4):
        large = gallery_page(study, GalleryFilter())
    assert (small.total, large.total) == (8, 158)


def test_a_thumbnail_is_the_stored_image_at_half_size_and_is_served_from_the_cache(clients, study):
    case = study.cases.first()
    response = clients["staff"].get(f"/studies/paper/cases/{case.public_id}/thumb.png")
    with case.image.open("rb") as stored:
        expected = Image.open(io.BytesIO(stored.read())).reduce(2)
    thumbnail = Image.open(io.BytesIO(response.content))
    assert (response.status_code, response["Content-Type"], thumbnail.size) == (200, "image/png", (112, 112))
    assert thumbnail.tobytes() == expected.tobytes()
    case.image.storage.delete(case.image.name)  # the second request never reads the file
    again = clients["staff"].get(f"/studies/paper/cases/{case.public_id}/thumb.png")
    assert (again.status_code, again.content) == (200, response.content)


def make_generated_case(study, case_factory):
    """A Pix2Pix case as a batch import leaves it: its own provenance and its batch's provenance.json."""
    batch = Batch.objects.create(study=study, zip_sha256="c" * 64, status=Batch.Status.DONE, original_name="set.zip",
                                 audit={"seed": 7, "checkpoints": {"pix2pix": {"sha256": "ab" * 32, "step": 400,
                                                                               "seed": 3}},
                                        "images": [{"filename": "effusion_pix2pix_001.png", "ssim": 0.8123,
                                                    "psnr": 27.5, "box_identical": True}]})
    case = case_factory(study, finding="effusion", source="pix2pix")
    case.batch = batch
    case.provenance = {"original_filename": "effusion_pix2pix_001.png", "original_sha256": "cd" * 32,
                       "origin_image": "00012345_000.png", "bbox": [100, 120, 300, 200], "original_size": [1024, 1024],
                       "bbox_224": [22.4, 26.25, 65.6, 43.75], "manifest": {"notes": "split=test"}}
    case.save()
    return case


def test_the_case_view_shows_the_image_its_box_on_demand_and_its_provenance(clients, study, case_factory):
    case = make_generated_case(study, case_factory)
    html = clients["staff"].get(f"/studies/paper/cases/{case.public_id}/").content.decode()
    assert f'src="/i/{case.image_token}.png"' in html  # the full-size image, through the blinded image view
    assert '<input type="checkbox" id="show-box" class="box-toggle">' in html  # off until asked for
    assert '<rect x="22.4" y="26.25" width="65.6" height="43.75">' in html
    for shown in ("00012345_000.png", "ab" * 32, "step 400", "0.8123", "27.5 dB", f"/studies/paper/batches/"
                  f"{case.batch_id}/", "effusion_pix2pix_001.png", "split=test"):
        assert shown in html
    assert re.search(r"<dt>Generation seed</dt><dd>7</dd>", html)


def test_the_case_view_names_each_box_by_the_image_it_is_in_and_the_zoom_readers_really_get(clients, study,
                                                                                            case_factory):
    case = make_generated_case(study, case_factory)
    html = " ".join(clients["staff"].get(f"/studies/paper/cases/{case.public_id}/").content.decode().split())
    assert "<dt>Box (uploaded image, 1024 x 1024 px)</dt><dd>100, 120, 300, 200" in html
    assert "<dt>Box (224 px image readers see)</dt><dd>22.4, 26.3, 65.6, 43.8" in html
    assert "origin pixels" not in html and "as readers receive it" not in html
    assert ("shown here at 2x (448 px) with crisp pixels. Readers receive it at the largest whole-number zoom their "
            "window allows: 3x (672 px) at 1280 x 800, 4x (896 px) at 1920 x 1080.") in html


def test_the_provenance_of_a_real_case_names_no_checkpoint(study):
    case = study.cases.filter(source__slug="real").first()
    provenance = selectors.case_provenance(case)
    assert (provenance.checkpoint_sha256, provenance.ssim, provenance.box_percent) == ("", None, None)


@pytest.mark.parametrize("path", ["/studies/paper/cases/", "/studies/paper/cases/{case}/",
                                  "/studies/paper/cases/{case}/thumb.png"])
def test_only_the_study_admin_reaches_the_gallery_the_case_view_and_the_thumbnails(clients, study, path):
    path = path.format(case=study.cases.first().public_id)
    outcomes = tuple(access_outcome(clients[actor].get(path)) for actor in ACTORS)
    assert outcomes == (LOGIN, 404, 404, 200)


def test_an_unknown_case_is_404_for_the_admin(clients, study):
    assert clients["staff"].get("/studies/paper/cases/no-such-case/").status_code == 404
