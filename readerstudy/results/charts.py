"""The results chart, drawn server-side with matplotlib's Agg backend: per finding, the rate at which each source's
images were called real, with Wilson 95% intervals; one panel for all readers pooled, then one per reader, at most
``READER_PANELS_PER_PAGE`` readers to a chart (``page`` 2, 3, ... for the rest): 300 panels took 29 s and 700 MB.
A rendered chart is cached under a hash of the counts it draws, so it is drawn again only when a vote changes them."""
from __future__ import annotations

import hashlib
import io
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from django.core.cache import cache  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402  (a Figure of its own, not pyplot's shared state: thread-safe)

from .statistics import ALL, POOLED, wilson_interval  # noqa: E402
from .table1 import Table1  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
PANEL_COLUMNS = 2
READER_PANELS_PER_PAGE = 8
CACHE_SECONDS = 3600
PALETTE = ["#4d4d4d", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def _draw_panel(axes, title: str, groups: list[str], sources: list[str], called_real: np.ndarray,
                votes: np.ndarray) -> None:
    """One grouped bar chart: ``called_real`` and ``votes`` are (groups, sources)."""
    rate = np.divide(called_real, votes, out=np.full(called_real.shape, np.nan), where=votes > 0)
    low, high = wilson_interval(called_real, votes)
    width = 0.8 / max(len(sources), 1)
    x = np.arange(len(groups))
    for s, source in enumerate(sources):
        offset = x - 0.4 + width * (s + 0.5)
        heights = np.nan_to_num(rate[:, s])
        errors = np.vstack([np.nan_to_num(rate[:, s] - low[:, s]), np.nan_to_num(high[:, s] - rate[:, s])])
        axes.bar(offset, heights, width, yerr=errors, capsize=2, label=source, color=PALETTE[s % len(PALETTE)],
                 error_kw={"elinewidth": 0.8})
    axes.axhline(0.5, color="#999999", linewidth=0.8, linestyle="--")
    axes.set_xticks(x, groups, rotation=30, ha="right", fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("called real")
    axes.set_title(title, fontsize=10)


def reader_pages(table: Table1) -> int:
    return max(1, -(-len(table.readers) // READER_PANELS_PER_PAGE))


def results_figure(table: Table1, page: int = 1) -> Figure:
    """The pooled panel and one panel per reader of ``page``, from Table 1's counts (which carry each cell's votes)."""
    called_real = np.asarray(table.called_real, dtype=float)  # (findings + total, sources, readers)
    votes = np.asarray(table.votes, dtype=float)
    groups = [*table.findings, ALL]
    first = (page - 1) * READER_PANELS_PER_PAGE
    shown = range(first, min(first + READER_PANELS_PER_PAGE, len(table.readers)))
    panels = [(POOLED, called_real.sum(axis=2), votes.sum(axis=2))]
    panels += [(table.readers[r], called_real[:, :, r], votes[:, :, r]) for r in shown]
    rows = -(-len(panels) // PANEL_COLUMNS)
    figure = Figure(figsize=(6.0 * PANEL_COLUMNS, 3.4 * rows + 1.0), layout="constrained")
    title = f"{table.study}: images called real, by finding and source (95% Wilson intervals)"
    if reader_pages(table) > 1:
        title += (f"\nreaders {first + 1}-{shown.stop} of {len(table.readers)} "
                  f"(page {page} of {reader_pages(table)}: ?page=N for the others)")
    figure.suptitle(title, fontsize=11)
    for index, (title, real, total) in enumerate(panels):
        axes = figure.add_subplot(rows, PANEL_COLUMNS, index + 1)
        shape = (len(groups), len(table.sources))
        _draw_panel(axes, title, groups, table.sources, real.reshape(shape), total.reshape(shape))
        if index == 0 and table.sources:
            figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", ncol=len(table.sources),
                          fontsize=8, frameon=False)
    return figure


def render(table: Table1, image_format: str, page: int = 1) -> bytes:
    if image_format not in FORMATS:
        raise ValueError(f"Unknown chart format {image_format!r}: choose one of {', '.join(FORMATS)}.")
    if not 1 <= page <= reader_pages(table):
        raise ValueError(f"There is no page {page} of readers: pages 1 to {reader_pages(table)}.")
    drawn = [table.study, table.readers, table.sources, table.findings, table.called_real, table.votes]
    key = "chart:" + hashlib.sha256(json.dumps([drawn, image_format, page]).encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    figure = results_figure(table, page)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=110)
    cache.set(key, buffer.getvalue(), CACHE_SECONDS)
    return buffer.getvalue()
