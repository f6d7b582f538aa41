"""The batch page's generation audit at a glance: SSIM and PSNR by finding x source (mean, min-max, boxes identical
of checked), the small-multiples figure per source as PNG and SVG, and the raw records behind a link."""
from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from PIL import Image

from readerstudy.batches.models import Batch
from readerstudy.batches.quality import quality_table
from tests.factories import LOGIN, access_outcome

ACTORS = ("anonymous", "reader", "outsider", "staff")


def record(finding: str, source: str, ssim, psnr, box_identical=None, index: int = 0) -> dict:
    return {"filename": f"{finding.lower()}_{source.lower()}_{index:03d}.png", "finding": finding, "source": source,
            "origin_image": f"{index:08d}_000.png", "ssim": ssim, "psnr": psnr, "box_identical": box_identical,
            "max_abs_diff_in_box": 0 if box_identical is not None else None}


AUDIT = {
    "seed": 0,
    "images": [
        record("Effusion", "Pix2Pix", 0.60, 24.0, True, 1), record("Effusion", "Pix2Pix", 0.70, 26.0, True, 2),
        record("Effusion", "Pix2Pix", 0.80, 28.0, False, 3), record("Effusion", "StarGAN", 0.50, 20.0, None, 4),
        record("Atelectasis", "Pix2Pix-N", 0.90, 30.0, True, 5), record("Effusion", "Real", None, None, None, 6),
    ],
}


def test_the_table_has_mean_and_range_per_finding_and_source_and_counts_identical_boxes():
    table = quality_table(AUDIT, finding_order=["Atelectasis", "Effusion"],
                          source_order=["Real", "StarGAN", "Pix2Pix", "Pix2Pix-N"])
    assert (table.findings, table.sources) == (["Atelectasis", "Effusion"], ["StarGAN", "Pix2Pix", "Pix2Pix-N"])
    cell = table.cells[("Effusion", "Pix2Pix")]
    assert (cell.images, round(cell.ssim.mean, 4), cell.ssim.low, cell.ssim.high) == (3, 0.7, 0.6, 0.8)
    assert (cell.psnr.mean, cell.psnr.low, cell.psnr.high) == (26.0, 24.0, 28.0)
    assert (cell.box_identical, cell.box_checked, cell.all_boxes_identical) == (2, 3, False)
    assert table.cells[("Effusion", "StarGAN")].box_checked == 0
    assert ("Atelectasis", "StarGAN") not in table.cells and ("Effusion", "Real") not in table.cells
    assert table.has_distributions


def test_a_summary_without_records_still_fills_the_table_but_draws_no_figure():
    audit = {"quality": {"Pix2Pix": {"Effusion": {"images": 25, "ssim": {"mean": 0.6, "min": 0.4, "max": 0.7},
                                                  "psnr": {"mean": 22.0, "min": 18.0, "max": 25.0},
                                                  "box_identical": 25, "box_checked": 25}}}}
    table = quality_table(audit)
    cell = table.cells[("Effusion", "Pix2Pix")]
    assert (cell.images, cell.ssim.mean, cell.psnr.high, cell.all_boxes_identical) == (25, 0.6, 25.0, True)
    assert not table.has_distributions


def test_an_audit_without_figures_has_no_table():
    assert quality_table({"images": [{"filename": "a.png"}]}) is None
    assert quality_table({}) is None


@pytest.fixture
def batch(study_factory):
    study = study_factory("paper")
    return Batch.objects.create(study=study, zip_sha256="d" * 64, status=Batch.Status.DONE, audit=AUDIT)


@pytest.fixture
def admin(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def test_the_batch_page_shows_the_table_the_figure_and_a_link_to_the_records(admin, batch):
    html = admin.get(f"/studies/paper/batches/{batch.pk}/").content.decode()
    table = re.search(r'<table class="table compact quality-table" id="audit-quality">(.*?)</table>', html, re.S)
    headers = re.findall(r'<th scope="col">([^<]+)</th>', table.group(1))
    assert headers == ["Finding", "StarGAN", "Pix2Pix", "Pix2Pix-N"]
    assert re.search(r"SSIM <strong>0\.700</strong> <span class=\"muted\">0\.600-0\.800</span>", table.group(1))
    assert re.search(r"PSNR <strong>26\.0</strong> dB <span class=\"muted\">24\.0-28\.0</span>", table.group(1))
    assert "boxes 2/3 identical" in table.group(1)
    assert f'src="/studies/paper/batches/{batch.pk}/quality.png"' in html
    assert f'href="/studies/paper/batches/{batch.pk}/quality.svg?download=1"' in html
    assert f'href="/studies/paper/batches/{batch.pk}/audit/"' in html and "effusion_pix2pix_001.png" not in html
    records = admin.get(f"/studies/paper/batches/{batch.pk}/audit/").content.decode()
    assert all(name in records for name in ("effusion_pix2pix_001.png", "00000005_000.png"))


def test_the_figure_comes_as_png_and_svg_with_a_panel_per_source_and_metric(admin, batch):
    png = admin.get(f"/studies/paper/batches/{batch.pk}/quality.png")
    svg = admin.get(f"/studies/paper/batches/{batch.pk}/quality.svg?download=1")
    assert (png["Content-Type"], svg["Content-Type"]) == ("image/png", "image/svg+xml")
    width, height = Image.open(io.BytesIO(png.content)).size
    assert width > height > 200
    text = svg.content.decode()
    assert text.count('id="axes_') == 2 * 3  # SSIM and PSNR x StarGAN, Pix2Pix, Pix2Pix-N
    assert 'attachment; filename="paper-batch-' in svg["Content-Disposition"]


def test_no_figure_for_an_audit_without_per_image_values(admin, batch):
    batch.audit = {"images": [{"filename": "a.png"}]}
    batch.save()
    assert admin.get(f"/studies/paper/batches/{batch.pk}/quality.png").status_code == 404


@pytest.mark.parametrize("suffix", ["quality.png", "quality.svg", "audit/"])
def test_only_the_study_admin_sees_the_quality_figure_and_the_records(batch, reader_factory, study_factory,
                                                                      staff_user, suffix):
    users = {"anonymous": None, "reader": reader_factory(batch.study, username="reader").user,
             "outsider": reader_factory(study_factory("other", status="open"), username="outsider").user,
             "staff": staff_user}
    outcomes = []
    for actor in ACTORS:
        client = Client()
        if users[actor] is not None:
            client.force_login(users[actor])
        outcomes.append(access_outcome(client.get(f"/studies/paper/batches/{batch.pk}/{suffix}")))
    assert outcomes == [LOGIN, 404, 404, 200]


def test_images_without_a_box_to_check_do_not_count_as_failed_box_checks(admin, batch):
    html = admin.get(f"/studies/paper/batches/{batch.pk}/").content.decode()
    box_line = re.search(r'<li class="(\w+)" id="audit-box">Box region identical to the real image:\s+(\d+) of (\d+)',
                         html)
    assert box_line.groups() == ("error", "3", "4")  # 4 checked (Pix2Pix x3, Pix2Pix-N), one differs; StarGAN none


def test_a_provenance_naming_120_sources_draws_12_panels_a_metric_once_and_serves_it_from_the_cache(
        admin, study_factory, monkeypatch):
    """Issue 29: a provenance naming 120 sources drew 240 panels on every view (100 s). The figure now draws the
    first 12 sources (the title says so; the table on the page lists them all) and is rendered once per input: the
    second view comes from the cache."""
    from django.core.cache import cache

    from readerstudy.batches import quality

    cache.clear()
    audit = {"images": [record("Effusion", f"Gen{index:03d}", 0.5 + index / 1000, 20.0, True, index)
                        for index in range(120)]}
    study = study_factory("many")
    batch = Batch.objects.create(study=study, zip_sha256="e" * 64, status=Batch.Status.DONE, audit=audit)
    renders = []
    real_render = quality.render_quality
    monkeypatch.setattr(quality, "render_quality", lambda *args: renders.append(args) or real_render(*args))
    first = admin.get(f"/studies/many/batches/{batch.pk}/quality.svg")
    again = admin.get(f"/studies/many/batches/{batch.pk}/quality.svg")
    text = first.content.decode()
    assert text.count('id="axes_') == 2 * quality.MAX_FIGURE_SOURCES
    assert "first 12 of 120 sources" in text
    assert again.content == first.content and len(renders) == 1
    page = admin.get(f"/studies/many/batches/{batch.pk}/").content.decode()
    assert "Gen119" in page and f'src="/studies/many/batches/{batch.pk}/quality.png"' in page
