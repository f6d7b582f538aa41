"""The results chart, drawn server-side with matplotlib's Agg backend: per finding, the rate at which each source's
images were called real; one panel for all readers (with the MRMC analysis's intervals, which count readers and
cases, when given, else Wilson 95% intervals), then one per reader (Wilson 95% intervals), at most
``READER_PANELS_PER_PAGE`` readers to a chart (``page`` 2, 3, ... for the rest): 300 panels took 29 s and 700 MB.
``readers=False`` draws the first panel alone: the results page's headline chart. A rendered chart is cached under a
hash of what it draws, so it is drawn again only when a vote changes it."""
from __future__ import annotations

import hashlib
import io
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from django.core.cache import cache  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402  (a Figure of its own, not pyplot's shared state: thread-safe)
from matplotlib.patches import Patch  # noqa: E402

from analysis.statistics import ALL, POOLED, wilson_interval  # noqa: E402

from .table1 import Table1  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
PANEL_COLUMNS = 2
READER_PANELS_PER_PAGE = 8
CACHE_SECONDS = 3600
Y_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
# The layout, in inches. Fixed margins sized from the labels rather than matplotlib's constrained layout, which
# measured every text of every panel again at each draw (half the drawing time of an 8-reader page).
PANEL_WIDTH, PANEL_HEIGHT = 5.0, 2.2
TICK_FONT_INCHES = 8 / 72  # the finding labels' font size
TITLE_LINE, PANEL_TITLE, LEGEND = 0.22, 0.3, 0.35
PALETTE = ["#4d4d4d", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def _laid_out_figure(rows: int, columns: int, groups: list[str], title_lines: int) -> Figure:
    """An empty figure for ``rows`` x ``columns`` panels, its margins and gaps sized from the longest finding label
    (drawn at 30 degrees below each panel) and the number of title lines."""
    label = 0.6 * TICK_FONT_INCHES * max((len(group) for group in groups), default=0)  # the longest label's length
    below = 0.5 * label + 0.15 + 0.1  # its drop at 30 degrees, the tick and the text's own height
    left = max(0.75, 0.87 * label - 0.25)  # it reaches left of the first tick, which sits half a group inside
    top = 0.15 + title_lines * TITLE_LINE + PANEL_TITLE
    bottom = below + LEGEND
    wide = columns == 1 and rows == 1
    panel_width = PANEL_WIDTH + (2.5 if wide else 0)
    gap_x, gap_y = left + 0.2, below + PANEL_TITLE + 0.15
    width = left + columns * panel_width + (columns - 1) * gap_x + 0.25
    height = top + rows * PANEL_HEIGHT + (rows - 1) * gap_y + bottom
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=left / width, right=1 - 0.25 / width, top=1 - top / height, bottom=bottom / height,
                           wspace=gap_x / panel_width, hspace=gap_y / PANEL_HEIGHT)
    return figure


def _draw_panel(axes, title: str, groups: list[str], sources: list[str], called_real: np.ndarray,
                votes: np.ndarray, intervals: np.ndarray | None = None) -> None:
    """One grouped bar chart: ``called_real`` and ``votes`` are (groups, sources); ``intervals`` (3, groups, sources),
    rate, low and high, replaces the counts' rate and Wilson interval where given (nan: no bar). All the bars are one
    polygon collection and all the error bars two line collections: a panel costs a handful of artists, not one per
    bar."""
    rate = np.divide(called_real, votes, out=np.full(called_real.shape, np.nan), where=votes > 0)
    low, high = wilson_interval(called_real, votes)
    if intervals is not None:
        rate, low, high = intervals
    width = 0.8 / max(len(sources), 1)
    x = np.arange(len(groups))
    centres = x[:, None] - 0.4 + width * (np.arange(len(sources))[None, :] + 0.5)  # (groups, sources)
    colours = np.array([PALETTE[s % len(PALETTE)] for s in range(len(sources))])
    left, heights = centres.ravel() - width / 2, np.nan_to_num(rate).ravel()
    corners = np.stack([np.column_stack([left, left, left + width, left + width]),
                        np.column_stack([0 * heights, heights, heights, 0 * heights])], axis=-1)
    # one polygon per bar, all in one collection: ``bar`` adds (and autoscales for) one patch at a time
    axes.add_collection(PolyCollection(corners, facecolors=np.broadcast_to(colours, rate.shape).ravel(),
                                       edgecolors="none"), autolim=False)
    # clipped to the bar: Wilson's bound at a rate of 0 or 1 can sit a rounding error beyond it
    shown = np.isfinite(rate)
    bottom = np.minimum(np.where(np.isnan(low), rate, low), rate)[shown]
    top = np.maximum(np.where(np.isnan(high), rate, high), rate)[shown]
    at, cap = centres[shown], min(0.2 * width, 0.04)  # caps as wide whatever the number of sources
    axes.vlines(at, bottom, top, colors="black", linewidth=0.8)
    axes.hlines(np.concatenate([bottom, top]), np.tile(at - cap, 2), np.tile(at + cap, 2), colors="black",
                linewidth=0.8)
    axes.axhline(0.5, color="#999999", linewidth=0.8, linestyle="--")
    axes.set_xlim(-0.5, len(groups) - 0.5)
    axes.set_xticks(x, groups, rotation=30, ha="right", fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_yticks(Y_TICKS)
    axes.set_ylabel("called real")
    axes.set_title(title, fontsize=10)


def pooled_intervals_array(table: Table1, rows: list[dict]) -> np.ndarray:
    """``rows`` (finding, source, rate, ci_low, ci_high), as the statistics report's ``called_real_pooled``, as an
    array (3, findings + all, sources) in the chart's order; nan where a cell has none."""
    groups = [*table.findings, ALL]
    out = np.full((3, len(groups), len(table.sources)), np.nan)
    where = {(finding, source): (g, s) for g, finding in enumerate(groups) for s, source in enumerate(table.sources)}
    for row in rows:
        if (row["finding"], row["source"]) in where:
            g, s = where[(row["finding"], row["source"])]
            out[:, g, s] = [np.nan if row[key] is None else row[key] for key in ("rate", "ci_low", "ci_high")]
    return out


def reader_pages(table: Table1) -> int:
    return max(1, -(-len(table.readers) // READER_PANELS_PER_PAGE))


def results_figure(table: Table1, pooled: list[dict] | None = None, readers: bool = True, page: int = 1) -> Figure:
    """The pooled panel and (``readers``) one panel per reader of ``page``, from Table 1's counts (which carry each
    cell's votes too); ``pooled`` gives the first panel's rates and intervals (``pooled_intervals_array``)."""
    groups = [*table.findings, ALL]
    shape = (len(groups), len(table.sources), len(table.readers))  # explicit: nested empty lists lose dimensions
    called_real = np.asarray(table.called_real, dtype=float).reshape(shape)
    votes = np.asarray(table.votes, dtype=float).reshape(shape)
    intervals = None if pooled is None else pooled_intervals_array(table, pooled)
    first_title = "All readers" + (" (reader-averaged)" if pooled is not None and readers else "")
    panels = [(POOLED if readers and pooled is None else first_title, called_real.sum(axis=2), votes.sum(axis=2))]
    first = (page - 1) * READER_PANELS_PER_PAGE
    shown = range(first, min(first + READER_PANELS_PER_PAGE, len(table.readers)))
    if readers:
        panels += [(table.readers[r], called_real[:, :, r], votes[:, :, r]) for r in shown]
    columns = PANEL_COLUMNS if len(panels) > 1 else 1
    rows = -(-len(panels) // columns)
    if not readers:
        kind = "averaged over readers, MRMC 95% intervals" if pooled is not None else "95% Wilson intervals"
    else:
        kind = "95% intervals: first panel MRMC, readers Wilson" if pooled is not None else "95% Wilson intervals"
    title = f"{table.study}: images called real, by finding and source ({kind})"
    if readers and reader_pages(table) > 1:
        title += (f"\nreaders {first + 1}-{shown.stop} of {len(table.readers)} "
                  f"(page {page} of {reader_pages(table)}: ?page=N for the others)")
    figure = _laid_out_figure(rows, columns, groups, title_lines=title.count("\n") + 1)
    figure.suptitle(title, fontsize=11, y=1 - 0.1 / figure.get_figheight(), va="top")
    for index, (panel_title, real, total) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        _draw_panel(axes, panel_title, groups, table.sources, real, total, intervals if index == 0 else None)
    if table.sources:
        handles = [Patch(color=PALETTE[s % len(PALETTE)], label=source) for s, source in enumerate(table.sources)]
        figure.legend(handles=handles, loc="lower center", ncol=len(table.sources), fontsize=8, frameon=False,
                      bbox_to_anchor=(0.5, 0.05 / figure.get_figheight()))
    return figure


def render(table: Table1, image_format: str, pooled: list[dict] | None = None, readers: bool = True,
           page: int = 1) -> bytes:
    if image_format not in FORMATS:
        raise ValueError(f"Unknown chart format {image_format!r}: choose one of {', '.join(FORMATS)}.")
    if not 1 <= page <= reader_pages(table):
        raise ValueError(f"There is no page {page} of readers: pages 1 to {reader_pages(table)}.")
    drawn = [table.study, table.readers, table.sources, table.findings, table.called_real, table.votes, pooled,
             readers]
    key = "chart:" + hashlib.sha256(json.dumps([drawn, image_format, page], default=str).encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    figure = results_figure(table, pooled, readers, page)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=110)
    cache.set(key, buffer.getvalue(), CACHE_SECONDS)
    return buffer.getvalue()
