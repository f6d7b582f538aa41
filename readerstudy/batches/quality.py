"""The generation audit at a glance: SSIM and PSNR per finding x source (mean with min-max, boxes identical of
checked) from a batch's provenance.json, and the small-multiples figure of their distributions per source.

The per-image records (``images``: ``{filename, source, finding, ssim, psnr, box_identical, ...}``) are the source of
truth; a provenance file that carries only the summary (``quality``: source -> finding -> figures) still fills the
table, without the figure.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
MAX_FIGURE_SOURCES = 12  # panels per metric: a provenance naming 120 sources drew 240 panels (100 s per view)
METRICS = (("ssim", "SSIM", ""), ("psnr", "PSNR", "dB"))


@dataclass(frozen=True)
class Spread:
    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class QualityCell:
    images: int
    ssim: Spread | None
    psnr: Spread | None
    box_identical: int
    box_checked: int

    @property
    def all_boxes_identical(self) -> bool:
        return self.box_checked > 0 and self.box_identical == self.box_checked


@dataclass(frozen=True)
class QualityTable:
    findings: list[str]
    sources: list[str]  # the sources with a figure or a box check (real images have none)
    cells: dict[tuple[str, str], QualityCell]
    values: dict[tuple[str, str], dict[str, list[float]]]  # per-image SSIM/PSNR by (finding, source); {} if none

    @property
    def rows(self) -> list[tuple[str, list[QualityCell | None]]]:
        return [(finding, [self.cells.get((finding, source)) for source in self.sources]) for finding in self.findings]

    @property
    def has_distributions(self) -> bool:
        return any(values for cell in self.values.values() for values in cell.values())


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    return Spread(mean=sum(values) / len(values), low=min(values), high=max(values), n=len(values))


def _ordered(names: set[str], order: list[str]) -> list[str]:
    """``names`` in the study's order (matched case-insensitively), any other name after them, alphabetically."""
    rank = {name.lower(): index for index, name in enumerate(order)}
    return sorted(names, key=lambda name: (rank.get(name.lower(), len(rank)), name.lower()))


def _from_records(records: list[dict]) -> tuple[dict, dict]:
    cells, values = {}, {}
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        finding, source = record.get("finding"), record.get("source")
        if isinstance(finding, str) and isinstance(source, str):
            groups.setdefault((finding, source), []).append(record)
    for key, group in groups.items():
        found = {metric: [v for r in group if (v := _number(r.get(metric))) is not None] for metric, _, _ in METRICS}
        checked = [r for r in group if isinstance(r.get("box_identical"), bool)]
        cells[key] = QualityCell(images=len(group), ssim=_spread(found["ssim"]), psnr=_spread(found["psnr"]),
                                 box_identical=sum(1 for r in checked if r["box_identical"]), box_checked=len(checked))
        values[key] = found
    return cells, values


def _from_summary(quality: dict) -> dict:
    """Cells from the summary's shape (source -> finding -> {images, ssim: {mean, min, max} or one number, ...})."""
    cells = {}
    for source, by_finding in quality.items():
        if not isinstance(by_finding, dict):
            continue
        for finding, entry in by_finding.items():
            if not isinstance(entry, dict):
                continue
            spreads = {}
            images = int(_number(entry.get("images")) or 0)
            for metric, _, _ in METRICS:
                figures = entry.get(metric)
                complete = isinstance(figures, dict) and all(
                    _number(figures.get(key)) is not None for key in ("mean", "min", "max"))
                if complete:
                    spreads[metric] = Spread(mean=float(figures["mean"]), low=float(figures["min"]),
                                             high=float(figures["max"]), n=images)
                elif (value := _number(figures)) is not None:  # a single figure: its own range
                    spreads[metric] = Spread(mean=value, low=value, high=value, n=images)
            cells[(str(finding), str(source))] = QualityCell(
                images=images, ssim=spreads.get("ssim"), psnr=spreads.get("psnr"),
                box_identical=int(_number(entry.get("box_identical")) or 0),
                box_checked=int(_number(entry.get("box_checked")) or 0))
    return cells


def quality_table(audit: dict, finding_order: list[str] = (), source_order: list[str] = ()) -> QualityTable | None:
    """The findings x sources table of a batch's audit, or None when it holds no quality figure or box check."""
    if not isinstance(audit, dict):
        return None
    records = [record for record in audit.get("images") or [] if isinstance(record, dict)]
    cells, values = _from_records(records)
    if not cells and isinstance(audit.get("quality"), dict):
        cells, values = _from_summary(audit["quality"]), {}
    measured = {key: cell for key, cell in cells.items() if cell.ssim or cell.psnr or cell.box_checked}
    if not measured:
        return None
    findings = _ordered({finding for finding, _ in measured}, list(finding_order))
    sources = _ordered({source for _, source in measured}, list(source_order))
    return QualityTable(findings=findings, sources=sources, cells=measured,
                        values={key: values[key] for key in measured if key in values})


def quality_figure(table: QualityTable, title: str):
    """Small multiples: one row per metric (SSIM, PSNR), one column per source; in each panel a box plot of the
    per-image values by finding, the points over it. Rows share their y axis, so sources compare at a glance.

    matplotlib is imported here, not with the module: the batch page's table needs none of it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # a Figure of its own, not pyplot's shared state: thread-safe

    sources = table.sources[:MAX_FIGURE_SOURCES]
    if len(table.sources) > len(sources):
        title += f" (the first {len(sources)} of {len(table.sources)} sources; the table lists them all)"
    columns = max(len(sources), 1)
    figure = Figure(figsize=(2.6 * columns + 0.8, 2.3 * len(METRICS) + 1.1), layout="constrained")
    figure.suptitle(title, fontsize=10)
    axes_grid = figure.subplots(len(METRICS), columns, sharey="row", squeeze=False)
    for row, (metric, label, unit) in enumerate(METRICS):
        for column, source in enumerate(sources):
            axes = axes_grid[row][column]
            series = [table.values.get((finding, source), {}).get(metric, []) for finding in table.findings]
            positions = [index + 1 for index, values in enumerate(series) if values]
            if positions:
                axes.boxplot([series[p - 1] for p in positions], positions=positions, widths=0.55,
                             showfliers=False, medianprops={"color": "#2f5f8f"})
                for position in positions:
                    values = series[position - 1]
                    jitter = [position + 0.18 * ((i * 0.618) % 1 - 0.5) for i in range(len(values))]
                    axes.scatter(jitter, values, s=5, color="#555555", alpha=0.6, linewidths=0)
            else:
                axes.text(0.5, 0.5, "no values", transform=axes.transAxes, ha="center", va="center", fontsize=8,
                          color="#888888")
            axes.set_xticks(range(1, len(table.findings) + 1), table.findings, rotation=40, ha="right", fontsize=7)
            axes.tick_params(axis="y", labelsize=7)
            axes.grid(axis="y", color="#e5e5e5", linewidth=0.6)
            if row == 0:
                axes.set_title(source, fontsize=9)
            if column == 0:
                axes.set_ylabel(f"{label} ({unit})" if unit else label, fontsize=8)
    return figure


def render_quality(table: QualityTable, title: str, image_format: str) -> bytes:
    if image_format not in FORMATS:
        raise ValueError(f"Unknown figure format {image_format!r}: choose one of {', '.join(FORMATS)}.")
    buffer = io.BytesIO()
    quality_figure(table, title).savefig(buffer, format=image_format, dpi=110)
    return buffer.getvalue()
