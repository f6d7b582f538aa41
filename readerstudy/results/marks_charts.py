"""The marks drawn (matplotlib, Agg, a Figure of its own as ``charts.py`` does): heat maps of marks over the image
frame per source and finding, with the kept boxes outlined; and small multiples of cases, each its image with its
box, its change map where its origin is known (StarGAN), and every reader's marks. PNG or SVG; each drawing cached
under the results' version."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from django.core.cache import cache  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402

from analysis.marks.heatmap import mark_density  # noqa: E402
from analysis.marks.regions import IMAGE_SIZE  # noqa: E402
from analysis.statistics import ALL  # noqa: E402

from .charts import FORMATS  # noqa: E402
from .marks import StudyMarks, case_change_map, stored_gray  # noqa: E402

CACHE_SECONDS = 7 * 24 * 3600
CASES_PER_PAGE = 24
CASE_COLUMNS = 6
PANEL_INCHES = 1.9
MARK_RADIUS = 6
CHANGE_ALPHA = 0.35  # the change map's tint over a StarGAN image whose origin is known


def _finish(figure: Figure, image_format: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=100)
    return buffer.getvalue()


def _cached(key_parts: list, draw, image_format: str) -> bytes:
    if image_format not in FORMATS:
        raise ValueError(f"Unknown chart format {image_format!r}: choose one of {', '.join(FORMATS)}.")
    key = "marks-chart:" + hashlib.sha256(repr([*key_parts, image_format]).encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        cached = _finish(draw(), image_format)
        cache.set(key, cached, CACHE_SECONDS)
    return cached


def _frame(axes, title: str) -> None:
    axes.set_xlim(0, IMAGE_SIZE)
    axes.set_ylim(IMAGE_SIZE, 0)
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=7)


def heatmap_figure(marks: StudyMarks, study_name: str) -> Figure:
    """Rows: the sources (Real first); columns: all findings, then each finding. Each panel: the marks' density
    (marks per 4x4 px bin, smoothed), scaled per panel, with the kept boxes of the panel's images outlined."""
    data = marks.data
    columns = [ALL, *marks.findings]
    rows = [name for name in marks.sources if name in set(marks.case_source)]
    figure = Figure(figsize=(0.4 + PANEL_INCHES * len(columns), 0.9 + (PANEL_INCHES + 0.45) * max(len(rows), 1)))
    figure.suptitle(f"{study_name}: where readers marked, by source and finding (kept boxes outlined)", fontsize=9)
    source = np.array(marks.case_source, dtype=object)[data.mark_case] if len(data.mark_read) else np.array([])
    finding = np.array(marks.case_finding, dtype=object)[data.mark_case] if len(data.mark_read) else np.array([])
    case_source = np.array(marks.case_source, dtype=object)
    case_finding = np.array(marks.case_finding, dtype=object)
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            axes = figure.add_subplot(len(rows), len(columns), r * len(columns) + c + 1)
            chosen = (source == row) & ((finding == column) if column != ALL else True)
            density = mark_density(data.mark_x[chosen], data.mark_y[chosen])
            axes.imshow(density, cmap="magma", extent=(0, IMAGE_SIZE, IMAGE_SIZE, 0),
                        vmin=0, vmax=max(float(density.max()), 1e-9), interpolation="bilinear")
            in_panel = (case_source == row) & ((case_finding == column) if column != ALL else True)
            for k in np.flatnonzero(in_panel):
                box = data.cases[k].kept_box
                if box is not None:
                    axes.add_patch(Rectangle(box[:2], box[2], box[3], fill=False, edgecolor="#3ddc84",
                                             linewidth=0.5, alpha=0.5))
            _frame(axes, f"{row} · {column}\n{int(chosen.sum())} marks")
    figure.subplots_adjust(left=0.02, right=0.98, top=1 - 0.85 / figure.get_figheight(), bottom=0.02,
                           wspace=0.08, hspace=0.3)
    return figure


def marked_cases(marks: StudyMarks) -> list[int]:
    """The cases with at least one mark, fakes first (by source, then finding), in the study's order otherwise."""
    marked = sorted(set(marks.data.mark_case.tolist()))
    order = {name: s for s, name in enumerate(marks.sources)}
    return sorted(marked, key=lambda k: (marks.case_source_is_real[k], order.get(marks.case_source[k], 0),
                                         marks.case_finding[k], k))


def case_pages(marks: StudyMarks) -> int:
    return max(1, -(-len(marked_cases(marks)) // CASES_PER_PAGE))


def _draw_case(axes, marks: StudyMarks, k: int) -> None:
    pixels = stored_gray(marks.case_images[k])
    if pixels is not None:
        axes.imshow(pixels, cmap="gray", vmin=0, vmax=255, extent=(0, IMAGE_SIZE, IMAGE_SIZE, 0))
    change = case_change_map(marks, k)
    if change is not None:  # faintly, under the marks: where the generator changed its origin most
        axes.imshow(change, cmap="inferno", alpha=CHANGE_ALPHA, vmin=0, vmax=max(float(change.max()), 1e-9),
                    extent=(0, IMAGE_SIZE, IMAGE_SIZE, 0), interpolation="bilinear")
    truth = marks.data.cases[k]
    if truth.box is not None:
        kept = truth.kept_box is not None
        axes.add_patch(Rectangle(truth.box[:2], truth.box[2], truth.box[3], fill=False,
                                 edgecolor="#3ddc84" if kept else "#9aa4af", linestyle="-" if kept else "--",
                                 linewidth=1.0))
    at = marks.data.mark_case == k
    for x, y in zip(marks.data.mark_x[at], marks.data.mark_y[at], strict=True):
        axes.add_patch(Circle((x, y), MARK_RADIUS, fill=False, edgecolor="#ffb02e", linewidth=1.0))
    _frame(axes, f"{marks.case_source[k]} · {marks.case_finding[k]}\n{marks.case_public_ids[k][:8]} · "
                 f"{int(at.sum())} mark{'s' if at.sum() != 1 else ''}")


def cases_figure(marks: StudyMarks, study_name: str, page: int = 1) -> Figure:
    """Small multiples of the marked cases (``CASES_PER_PAGE`` a page): each image with its box (solid green: kept,
    real pixels; dashed grey: where the origin's pathology was, in an image generated everywhere), on a StarGAN image
    whose origin is known a faint tint of how much each pixel changed, and every mark."""
    cases = marked_cases(marks)
    if not 1 <= page <= case_pages(marks):
        raise ValueError(f"There is no page {page} of cases: pages 1 to {case_pages(marks)}.")
    shown = cases[(page - 1) * CASES_PER_PAGE: page * CASES_PER_PAGE]
    columns = min(CASE_COLUMNS, max(len(shown), 1))
    rows = max(1, -(-len(shown) // columns))
    figure = Figure(figsize=(0.2 + PANEL_INCHES * columns, 0.9 + (PANEL_INCHES + 0.45) * rows))
    figure.suptitle(f"{study_name}: marks per case (page {page} of {case_pages(marks)}; green box kept real, "
                    "dashed box generated; tint: change from the origin)", fontsize=8)
    for index, k in enumerate(shown):
        _draw_case(figure.add_subplot(rows, columns, index + 1), marks, k)
    figure.subplots_adjust(left=0.02, right=0.98, top=1 - 0.85 / figure.get_figheight(), bottom=0.02,
                           wspace=0.06, hspace=0.3)
    return figure


def one_case_figure(marks: StudyMarks, k: int) -> Figure:
    figure = Figure(figsize=(3.2, 3.5))
    _draw_case(figure.add_subplot(1, 1, 1), marks, k)
    figure.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.02)
    return figure


def render_heatmap(load: Callable[[], StudyMarks], study_name: str, version: str, image_format: str) -> bytes:
    """``load`` gives the study's marks; it is called only when the drawing is not cached yet."""
    return _cached(["heatmap", version], lambda: heatmap_figure(load(), study_name), image_format)


def render_cases(load: Callable[[], StudyMarks], study_name: str, version: str, image_format: str,
                 page: int = 1) -> bytes:
    return _cached(["cases", version, page], lambda: cases_figure(load(), study_name, page), image_format)


def render_case(load: Callable[[], StudyMarks], public_id: str, version: str, image_format: str) -> bytes:
    """One case with its marks (the gallery's case page); ValueError when the study has no such included case."""
    def draw() -> Figure:
        marks = load()
        return one_case_figure(marks, marks.case_public_ids.index(public_id))

    return _cached(["case", version, public_id], draw, image_format)
