"""The results chart, drawn server-side with matplotlib's Agg backend: per finding, the rate at which each source's
images were called real, with Wilson 95% intervals; one panel for all readers pooled, then one per reader."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402  (a Figure of its own, not pyplot's shared state: thread-safe)

from .statistics import ALL, POOLED, wilson_interval  # noqa: E402
from .table1 import Table1  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
PANEL_COLUMNS = 2
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


def results_figure(table: Table1) -> Figure:
    """The pooled panel and one panel per reader, from Table 1's counts (which carry each cell's votes too)."""
    called_real = np.asarray(table.called_real, dtype=float)  # (findings + total, sources, readers)
    votes = np.asarray(table.votes, dtype=float)
    groups = [*table.findings, ALL]
    panels = [(POOLED, called_real.sum(axis=2), votes.sum(axis=2))]
    panels += [(reader, called_real[:, :, r], votes[:, :, r]) for r, reader in enumerate(table.readers)]
    rows = -(-len(panels) // PANEL_COLUMNS)
    figure = Figure(figsize=(6.0 * PANEL_COLUMNS, 3.4 * rows + 1.0), layout="constrained")
    figure.suptitle(f"{table.study}: images called real, by finding and source (95% Wilson intervals)", fontsize=11)
    for index, (title, real, total) in enumerate(panels):
        axes = figure.add_subplot(rows, PANEL_COLUMNS, index + 1)
        shape = (len(groups), len(table.sources))
        _draw_panel(axes, title, groups, table.sources, real.reshape(shape), total.reshape(shape))
        if index == 0 and table.sources:
            figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", ncol=len(table.sources),
                          fontsize=8, frameon=False)
    return figure


def render(table: Table1, image_format: str) -> bytes:
    if image_format not in FORMATS:
        raise ValueError(f"Unknown chart format {image_format!r}: choose one of {', '.join(FORMATS)}.")
    figure = results_figure(table)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=110)
    return buffer.getvalue()
