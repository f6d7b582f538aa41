"""Reporting: the evaluation schedule, one checkpoint per column and the paper's Table 2 (CSV, Markdown, curve PNG).

A run evaluates CL every ``eval_every`` steps (and at its last step). The column of step s is **one checkpoint**: the
evaluation in the window [s - half_width, s + half_width] (half_width 500 as in the paper) with the best Total CL,
and every finding's row is that same evaluation's. Two Totals are shown, named: ``Total (mean of rows)``, the
unweighted mean of the finding rows, which is the paper's (its Ori column's 0.259 is its rows' mean) and which picks
the checkpoint; and ``Total (box-weighted)``, localised boxes over all test boxes. The default run length
(:data:`DEFAULT_STEPS`, 15,500) covers the last reported step's whole window. Maximising each row on its own would
mix checkpoints within a column (an optimistic figure no single model reaches); that view is kept, labelled as such,
in a separate table. A window cut at the run's last step is stated in the table, and each column carries the chosen
checkpoint's step and its mean false positives per image beside CL.

Run directory files read and written here: ``config.json`` (protocol, findings, report_steps, window_half_width,
backbone, backbone_weights, threshold, criterion, ...) and ``metrics.csv`` (step, finding, cl, localised, total,
false_positives, images; one row per finding and one ``Total`` row per evaluation).
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

METRICS_FIELDS = ("step", "finding", "cl", "localised", "total", "false_positives", "images")
_REQUIRED_FIELDS = METRICS_FIELDS[:5]  # logs written before false positives were counted lack the last two
DEFAULT_REPORT_STEPS = (5000, 10000, 15000)
DEFAULT_HALF_WIDTH = 500
DEFAULT_STEPS = max(DEFAULT_REPORT_STEPS) + DEFAULT_HALF_WIDTH
"""15,500: the run reaches the end of the 15k column's window [14,500, 15,500] (11 evaluations at 100 steps)."""
MEAN_TOTAL = "Total (mean of rows)"
"""The paper's Total: the unweighted mean of the finding rows with test boxes; it picks each column's checkpoint."""
BOX_TOTAL = "Total (box-weighted)"
"""Localised test boxes over all test boxes (the metrics log's ``Total``)."""
CRITERION_TITLES = {"iou": "IoU", "iobb": "IoBB"}


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


def append_metrics(path: Path, step: int, scores: Mapping[str, FindingScore],
                   false_positives: Mapping[str, int] | None = None, images: int | None = None) -> None:
    """One evaluation: a row per finding and Total, with its false positives (predictions matching no truth)."""
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(METRICS_FIELDS)
        for finding, score in scores.items():
            cl = "" if score.cl is None else repr(score.cl)
            fp = "" if false_positives is None else false_positives.get(finding, "")
            writer.writerow([step, finding, cl, score.localised, score.total, fp, "" if images is None else images])


def read_metrics(path: Path) -> dict[str, dict[int, float | None]]:
    """finding (and Total) -> step -> CL."""
    return read_metrics_log(path)[0]


def read_metrics_log(path: Path) -> tuple[dict[str, dict[int, float | None]], dict[int, float | None]]:
    """(finding and Total -> step -> CL, step -> mean false positives per image; None where not logged)."""
    series: dict[str, dict[int, float | None]] = {}
    fp_per_image: dict[int, float | None] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(_REQUIRED_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                step = int(row["step"])
                cl = float(row["cl"]) if row["cl"] else None
                if row["finding"] == TOTAL:
                    fp, images = row.get("false_positives") or "", row.get("images") or ""
                    fp_per_image[step] = int(fp) / int(images) if fp and images and int(images) else None
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from None
            series.setdefault(row["finding"], {})[step] = cl
    return series, fp_per_image


def truncate_metrics(path: Path, after_step: int) -> None:
    """Drop evaluations later than ``after_step`` (a resumed run repeats them from its checkpoint)."""
    if not path.exists():
        return
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["step"]) <= after_step]
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRICS_FIELDS, restval="")
        writer.writeheader()
        writer.writerows({k: v for k, v in row.items() if k in METRICS_FIELDS} for row in rows)
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
    fp_per_image: dict[int, float | None] = field(default_factory=dict, repr=False)
    backbone_start: str = ""  # e.g. "resnet50_fpn, from scratch"
    metric: str = "CL@0.1 (IoU)"

    @property
    def last_step(self) -> int:
        return max((step for steps in self.series.values() for step in steps), default=0)

    def row_mean(self) -> dict[int, float | None]:
        """step -> the unweighted mean CL of the findings evaluated there (None where no finding has a test box)."""
        steps = sorted({step for name in self.findings for step in self.series.get(name, {})} |
                       set(self.series.get(TOTAL, {})))
        means: dict[int, float | None] = {}
        for step in steps:
            values = [self.series.get(name, {}).get(step) for name in self.findings]
            values = [v for v in values if v is not None]
            means[step] = sum(values) / len(values) if values else None
        return means

    def totals(self) -> dict[str, dict[int, float | None]]:
        """Both Totals' series, by their row names."""
        return {MEAN_TOTAL: self.row_mean(), BOX_TOTAL: self.series.get(TOTAL, {})}

    def checkpoint(self, at: int) -> int:
        """The step of the column's one checkpoint: the best paper's Total (mean of rows) in the window of ``at``."""
        return best_in_window(self.row_mean(), at, self.half_width)[0]

    def column(self, at: int) -> dict[str, float | None]:
        """Every row of the column of ``at`` from its one checkpoint."""
        chosen = self.checkpoint(at)
        series = {**self.series, **self.totals()}
        return {row: series.get(row, {}).get(chosen) for row in (*self.findings, MEAN_TOTAL, BOX_TOTAL)}

    def optimistic(self, at: int) -> dict[str, float | None]:
        """Each row maximised on its own over the window: rows may come from different checkpoints."""
        series = {**self.series, **self.totals()}
        rows = (*self.findings, MEAN_TOTAL, BOX_TOTAL)
        return {row: best_in_window(series.get(row, {}), at, self.half_width)[1] for row in rows}

    def window(self, at: int) -> tuple[int, int, bool]:
        """(first, last, truncated) step of the window of ``at``, cut at the run's last step."""
        end = at + self.half_width
        return at - self.half_width, min(end, self.last_step), end > self.last_step

    def cell(self, finding: str, at: int) -> float | None:
        return self.column(at)[finding]


def backbone_start(config: Mapping) -> str:
    """How the run's backbone started, for the table's header."""
    backbone = config.get("backbone", "?")
    weights = config.get("backbone_weights")
    if weights:
        return f"{backbone}, from supplied pretrained weights ({Path(str(weights)).name})"
    return f"{backbone}, from scratch (random weights)"


def load_run(run_dir: Path) -> RunReport:
    config_path, metrics_path = run_dir / "config.json", run_dir / "metrics.csv"
    for path in (config_path, metrics_path):
        if not path.is_file():
            raise ValueError(f"{run_dir} is not a localisation run directory: {path.name} is missing")
    config = json.loads(config_path.read_text())
    series, fp_per_image = read_metrics_log(metrics_path)
    try:
        return RunReport(
            protocol=get_protocol(config["protocol"]).name,
            findings=tuple(config["findings"]),
            report_steps=tuple(int(s) for s in config["report_steps"]),
            half_width=int(config["window_half_width"]),
            series=series,
            source=str(run_dir),
            fp_per_image=fp_per_image,
            backbone_start=backbone_start(config) if "backbone" in config else "",
            metric=f"CL@{config.get('threshold', 0.1):g} ({CRITERION_TITLES.get(config.get('criterion', 'iou'), '?')})",
        )
    except KeyError as error:
        raise ValueError(f"{config_path}: missing key {error}") from None


@dataclass(frozen=True)
class Table2:
    """Rows: findings then Total. Columns: for each protocol, one per reported step, each from one checkpoint."""

    findings: tuple[str, ...]
    columns: tuple[tuple[str, int], ...]  # (protocol, reported step)
    values: dict[tuple[str, int], dict[str, float | None]]
    checkpoints: dict[tuple[str, int], int] = field(default_factory=dict)
    fp_per_image: dict[tuple[str, int], float | None] = field(default_factory=dict)
    windows: dict[tuple[str, int], tuple[int, int, bool]] = field(default_factory=dict)
    optimistic: dict[tuple[str, int], dict[str, float | None]] = field(default_factory=dict)
    starts: dict[str, str] = field(default_factory=dict)  # protocol -> how its backbone started
    metric: str = "CL@0.1 (IoU)"

    @property
    def rows(self) -> tuple[str, ...]:
        return (*self.findings, MEAN_TOTAL, BOX_TOTAL)

    def header(self) -> str:
        """What the table is: the metric, the selection rule and how the backbones started."""
        starts = set(self.starts.values()) - {""}
        if len(starts) == 1:
            start = f"backbone {starts.pop()}"
        elif starts:
            start = "backbones: " + "; ".join(f"{get_protocol(p).title}: {s}" for p, s in self.starts.items())
        else:
            start = "backbone start not recorded"
        return (f"{self.metric} on the test split; each column is one checkpoint (the best {MEAN_TOTAL}, the paper's "
                f"Total, in its window), "
                f"{start}")

    def truncation_notes(self) -> list[str]:
        return [f"{get_protocol(p).title} {step_label(s)}: window truncated to [{lo}, {hi}] (the run ends at {hi})"
                for (p, s), (lo, hi, cut) in self.windows.items() if cut]


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
    columns, values, checkpoints, fps, windows, optimistic = [], {}, {}, {}, {}, {}
    for run in runs:
        for at in run.report_steps:
            key = (run.protocol, at)
            try:
                values[key], optimistic[key] = run.column(at), run.optimistic(at)
                checkpoints[key] = run.checkpoint(at)
            except ScheduleError as error:
                raise ScheduleError(f"{run.source}: {error}") from None
            fps[key] = run.fp_per_image.get(checkpoints[key])
            windows[key] = run.window(at)
            columns.append(key)
    return Table2(findings=runs[0].findings, columns=tuple(columns), values=values, checkpoints=checkpoints,
                  fp_per_image=fps, windows=windows, optimistic=optimistic,
                  starts={run.protocol: run.backbone_start for run in runs}, metric=runs[0].metric)


def _format(value: float | None, digits: int) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _column_label(table: Table2, key: tuple[str, int]) -> str:
    return step_label(key[1]) + ("*" if table.windows.get(key, (0, 0, False))[2] else "")


def write_csv(table: Table2, path: Path, digits: int = 4, optimistic: bool = False) -> None:
    """Two header lines, as the paper's table (protocol groups, then the reported steps; * marks a truncated window),
    the rows, then per column the mean false positives per image, the checkpoint's step and the window."""
    values = table.optimistic if optimistic else table.values
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Finding", *(get_protocol(p).title for p, _ in table.columns)])
        writer.writerow(["", *(_column_label(table, c) for c in table.columns)])
        for row in table.rows:
            writer.writerow([row, *(_format(values[c][row], digits) for c in table.columns)])
        if not optimistic:
            writer.writerow(["Mean FP per image", *(_format(table.fp_per_image.get(c), 2) for c in table.columns)])
            writer.writerow(["Checkpoint step", *(table.checkpoints.get(c, "") for c in table.columns)])
        writer.writerow(["Window", *(_window_text(table, c) for c in table.columns)])
        writer.writerow(["Note", table.header() if not optimistic else OPTIMISTIC_NOTE])


OPTIMISTIC_NOTE = ("optimistic view: each cell is maximised on its own over its window, so the rows of a column may "
                   "come from different checkpoints; no single model reaches this column")


def _window_text(table: Table2, key: tuple[str, int]) -> str:
    lo, hi, cut = table.windows.get(key, (0, 0, False))
    return f"[{lo}, {hi}]" + (" truncated" if cut else "")


def markdown(table: Table2, digits: int = 2, optimistic: bool = False) -> str:
    values = table.optimistic if optimistic else table.values
    title = OPTIMISTIC_NOTE if optimistic else table.header()
    header = ["Finding", *(f"{get_protocol(p).title} {_column_label(table, (p, s))}" for p, s in table.columns)]
    lines = [f"{title[0].upper()}{title[1:]}.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * len(table.columns)]
    for row in table.rows:
        name = f"**{row}**" if row in (MEAN_TOTAL, BOX_TOTAL) else row
        cells = [_format(values[c][row], digits) or "–" for c in table.columns]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    if not optimistic:
        lines.append("| Mean FP per image | " + " | ".join(
            _format(table.fp_per_image.get(c), 2) or "–" for c in table.columns) + " |")
        lines.append("| Checkpoint step | " + " | ".join(str(table.checkpoints.get(c, "–")) for c in table.columns)
                     + " |")
    notes = table.truncation_notes()
    if notes:
        lines += ["", *(f"\\* {note}." for note in notes)]
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
        series = {**run.series, **run.totals()}
        for name in (*run.findings, MEAN_TOTAL, BOX_TOTAL):
            points = sorted((s, v) for s, v in series.get(name, {}).items() if v is not None)
            if points:
                steps, values = zip(*points, strict=True)
                total = name in (MEAN_TOTAL, BOX_TOTAL)
                ax.plot(steps, values, label=name, linewidth=2.5 if total else 1.0,
                        color=("black" if name == MEAN_TOTAL else "dimgray") if total else None,
                        linestyle="--" if name == BOX_TOTAL else "-")
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
    """table2.csv, table2.md, the optimistic view (table2_optimistic.csv/.md) and curve.png in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = build_table(runs)
    write_csv(table, out_dir / "table2.csv")
    write_markdown(table, out_dir / "table2.md")
    write_csv(table, out_dir / "table2_optimistic.csv", optimistic=True)
    (out_dir / "table2_optimistic.md").write_text(markdown(table, optimistic=True))
    plot_curves(runs, out_dir / "curve.png")
    return table
