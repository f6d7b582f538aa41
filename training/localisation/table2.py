"""Reporting: the evaluation schedule, best-in-window selection and the paper's Table 2 (CSV, Markdown, curve PNG).

A run evaluates CL every ``eval_every`` steps (and at its last step). The value reported at step s is the best CL
among the evaluations in the window [s - half_width, s + half_width] (half_width 500 as in the paper), the window being
cut at the run's last step. Each cell (finding x reported step) is chosen on its own, so a column's Total is the best
Total in the window, not recomputed from the rows above it.

Run directory files read and written here: ``config.json`` (protocol, findings, report_steps, window_half_width, ...)
and ``metrics.csv`` (step, finding, cl, localised, total; one row per finding and one ``Total`` row per evaluation).
"""
from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from training.localisation.metric import TOTAL, FindingScore
from training.localisation.protocols import get_protocol, protocol_order

METRICS_FIELDS = ("step", "finding", "cl", "localised", "total")
DEFAULT_REPORT_STEPS = (5000, 10000, 15000)
DEFAULT_HALF_WIDTH = 500


class ScheduleError(ValueError):
    """The run's length and evaluation interval cannot give a value at every reported step."""


def evaluation_steps(steps: int, eval_every: int) -> list[int]:
    """Steps after which the detector is evaluated: every ``eval_every`` steps, and the last step."""
    if eval_every < 1:
        raise ScheduleError(f"--eval-every must be at least 1, got {eval_every}")
    planned = list(range(eval_every, steps + 1, eval_every))
    if steps >= 1 and (not planned or planned[-1] != steps):
        planned.append(steps)
    return planned


def check_schedule(steps: int, eval_every: int, report_steps: Sequence[int],
                   half_width: int = DEFAULT_HALF_WIDTH) -> None:
    """Refuse, before any training, a run that could not fill every reported column."""
    if not report_steps:
        raise ScheduleError("no reported steps given (--report-steps)")
    if steps < 1:
        raise ScheduleError(f"--steps must be at least 1, got {steps}")
    last = max(report_steps)
    if steps < last:
        raise ScheduleError(
            f"--steps {steps} is fewer than the last reported step {last}: its window "
            f"[{last - half_width}, {last + half_width}] would not be reached; train at least {last} steps "
            f"or report earlier steps (--report-steps)"
        )
    evaluated = evaluation_steps(steps, eval_every)
    for s in report_steps:
        if not any(s - half_width <= e <= s + half_width for e in evaluated):
            raise ScheduleError(
                f"no evaluation falls in the window [{s - half_width}, {s + half_width}] of reported step {s} "
                f"with --eval-every {eval_every}; evaluate more often"
            )


def best_in_window(series: Mapping[int, float | None], at: int,
                   half_width: int = DEFAULT_HALF_WIDTH) -> tuple[int, float | None]:
    """(step, value) of the best evaluation in [at - half_width, at + half_width]; the earliest step wins a tie.

    A value of None (the finding has no test box) is kept only when nothing better exists. An empty window is an
    error: a reported value must come from an evaluation that happened.
    """
    inside = sorted(step for step in series if at - half_width <= step <= at + half_width)
    if not inside:
        raise ScheduleError(f"no evaluation in the window [{at - half_width}, {at + half_width}] of step {at}")
    best_step = inside[0]
    for step in inside[1:]:
        value, best = series[step], series[best_step]
        if value is not None and (best is None or value > best):
            best_step = step
    return best_step, series[best_step]


def step_label(step: int) -> str:
    """5000 -> '5k', 12500 -> '12.5k', 750 -> '750'."""
    if step >= 1000 and step % 100 == 0:
        return f"{step / 1000:g}k"
    return str(step)


# --- the metrics log of one run --------------------------------------------------------------------------------------


def append_metrics(path: Path, step: int, scores: Mapping[str, FindingScore]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(METRICS_FIELDS)
        for finding, score in scores.items():
            cl = "" if score.cl is None else repr(score.cl)
            writer.writerow([step, finding, cl, score.localised, score.total])


def read_metrics(path: Path) -> dict[str, dict[int, float | None]]:
    """finding (and Total) -> step -> CL."""
    series: dict[str, dict[int, float | None]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(METRICS_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                step = int(row["step"])
                cl = float(row["cl"]) if row["cl"] else None
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from None
            series.setdefault(row["finding"], {})[step] = cl
    return series


def truncate_metrics(path: Path, after_step: int) -> None:
    """Drop evaluations later than ``after_step`` (a resumed run repeats them from its checkpoint)."""
    if not path.exists():
        return
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["step"]) <= after_step]
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRICS_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


# --- Table 2 ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    """What Table 2 needs from one run."""

    protocol: str
    findings: tuple[str, ...]
    report_steps: tuple[int, ...]
    half_width: int
    series: dict[str, dict[int, float | None]] = field(repr=False)
    source: str = ""  # the run directory, for error messages

    def cell(self, finding: str, at: int) -> float | None:
        return best_in_window(self.series.get(finding, {}), at, self.half_width)[1]


def load_run(run_dir: Path) -> RunReport:
    config_path, metrics_path = run_dir / "config.json", run_dir / "metrics.csv"
    for path in (config_path, metrics_path):
        if not path.is_file():
            raise ValueError(f"{run_dir} is not a localisation run directory: {path.name} is missing")
    config = json.loads(config_path.read_text())
    try:
        return RunReport(
            protocol=get_protocol(config["protocol"]).name,
            findings=tuple(config["findings"]),
            report_steps=tuple(int(s) for s in config["report_steps"]),
            half_width=int(config["window_half_width"]),
            series=read_metrics(metrics_path),
            source=str(run_dir),
        )
    except KeyError as error:
        raise ValueError(f"{config_path}: missing key {error}") from None


@dataclass(frozen=True)
class Table2:
    """Rows: findings then Total. Columns: for each protocol, one per reported step."""

    findings: tuple[str, ...]
    columns: tuple[tuple[str, int], ...]  # (protocol, reported step)
    values: dict[tuple[str, int], dict[str, float | None]]

    @property
    def rows(self) -> tuple[str, ...]:
        return (*self.findings, TOTAL)


def build_table(runs: Iterable[RunReport]) -> Table2:
    runs = sorted(runs, key=lambda r: protocol_order(r.protocol))
    if not runs:
        raise ValueError("no runs given")
    seen: dict[str, str] = {}
    for run in runs:
        if run.protocol in seen:
            raise ValueError(f"two runs of protocol {run.protocol!r}: {seen[run.protocol]} and {run.source}")
        seen[run.protocol] = run.source
        if run.findings != runs[0].findings:
            raise ValueError(f"{run.source} was run on findings {run.findings}, {runs[0].source} on {runs[0].findings}")
    columns, values = [], {}
    for run in runs:
        for at in run.report_steps:
            try:
                values[(run.protocol, at)] = {row: run.cell(row, at) for row in (*run.findings, TOTAL)}
            except ScheduleError as error:
                raise ScheduleError(f"{run.source}: {error}") from None
            columns.append((run.protocol, at))
    return Table2(findings=runs[0].findings, columns=tuple(columns), values=values)


def _format(value: float | None, digits: int) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def write_csv(table: Table2, path: Path, digits: int = 4) -> None:
    """Two header lines, as the paper's table: protocol groups, then the reported steps."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Finding", *(get_protocol(p).title for p, _ in table.columns)])
        writer.writerow(["", *(step_label(s) for _, s in table.columns)])
        for row in table.rows:
            writer.writerow([row, *(_format(table.values[c][row], digits) for c in table.columns)])


def markdown(table: Table2, digits: int = 2) -> str:
    header = ["Finding", *(f"{get_protocol(p).title} {step_label(s)}" for p, s in table.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * len(table.columns)]
    for row in table.rows:
        name = f"**{row}**" if row == TOTAL else row
        cells = [_format(table.values[c][row], digits) or "–" for c in table.columns]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(table: Table2, path: Path, digits: int = 2) -> None:
    path.write_text(markdown(table, digits))


def plot_curves(runs: Sequence[RunReport], path: Path) -> None:
    """One panel per protocol: CL of every finding and Total against steps, reported windows shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: protocol_order(r.protocol))
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 4), squeeze=False, sharey=True)
    for ax, run in zip(axes[0], runs, strict=True):
        for name in (*run.findings, TOTAL):
            points = sorted((s, v) for s, v in run.series.get(name, {}).items() if v is not None)
            if points:
                steps, values = zip(*points, strict=True)
                ax.plot(steps, values, label=name, linewidth=2.5 if name == TOTAL else 1.0,
                        color="black" if name == TOTAL else None)
        for at in run.report_steps:
            ax.axvspan(at - run.half_width, at + run.half_width, color="grey", alpha=0.12)
        ax.set_title(get_protocol(run.protocol).title)
        ax.set_xlabel("training step")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("correct localisation (CL)")
    axes[0][-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def write_report(runs: Sequence[RunReport], out_dir: Path) -> Table2:
    """table2.csv, table2.md and curve.png for ``runs`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = build_table(runs)
    write_csv(table, out_dir / "table2.csv")
    write_markdown(table, out_dir / "table2.md")
    plot_curves(runs, out_dir / "curve.png")
    return table
