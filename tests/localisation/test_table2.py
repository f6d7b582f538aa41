"""Best-in-window selection, the schedule checks and the Table 2 layout."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from training.localisation.metric import TOTAL, FindingScore
from training.localisation.table2 import (
    BOX_TOTAL,
    DEFAULT_STEPS,
    MEAN_TOTAL,
    RunReport,
    ScheduleError,
    append_metrics,
    best_in_window,
    build_table,
    check_schedule,
    evaluation_steps,
    load_run,
    markdown,
    step_label,
    truncate_metrics,
    write_report,
)

FINDINGS = ("Atelectasis", "Effusion")


def test_best_in_window_takes_the_maximum_inside_the_window():
    series = {4400: 0.9, 4500: 0.2, 5000: 0.3, 5500: 0.4, 5600: 0.95}
    assert best_in_window(series, 5000, 500) == (5500, 0.4)  # 4400 and 5600 lie outside [4500, 5500]


def test_best_in_window_includes_both_edges():
    assert best_in_window({4500: 0.7, 5000: 0.1}, 5000, 500) == (4500, 0.7)
    assert best_in_window({5500: 0.7, 5000: 0.1}, 5000, 500) == (5500, 0.7)


def test_best_in_window_prefers_the_earliest_step_on_a_tie():
    assert best_in_window({4800: 0.5, 5200: 0.5}, 5000) == (4800, 0.5)


def test_best_in_window_skips_undefined_values():
    assert best_in_window({4900: None, 5100: 0.2}, 5000) == (5100, 0.2)
    assert best_in_window({4900: None}, 5000) == (4900, None)


def test_an_empty_window_is_an_error():
    with pytest.raises(ScheduleError, match=r"no evaluation in the window \[4500, 5500\]"):
        best_in_window({4000: 0.5, 6000: 0.5}, 5000)


def test_evaluations_happen_every_n_steps_and_at_the_last_step():
    assert evaluation_steps(350, 100) == [100, 200, 300, 350]
    assert evaluation_steps(300, 100) == [100, 200, 300]


def test_a_run_shorter_than_the_last_reported_step_is_refused():
    with pytest.raises(ScheduleError, match="--steps 14000 is fewer than the last reported step 15000"):
        check_schedule(14000, 100, (5000, 10000, 15000))


def test_the_paper_schedule_is_accepted():
    check_schedule(15000, 100, (5000, 10000, 15000))


def test_the_default_run_length_completes_every_window():
    assert DEFAULT_STEPS == 15500
    assert [e for e in evaluation_steps(DEFAULT_STEPS, 100) if 14500 <= e <= 15500] == list(range(14500, 15501, 100))


def test_an_eval_interval_that_skips_a_window_is_refused():
    with pytest.raises(ScheduleError, match="no evaluation falls in the window"):
        check_schedule(15000, 3000, (5000, 10000, 15000))


def scores(**cl: float) -> dict[str, FindingScore]:
    out = {f: FindingScore(round(cl[f] * 100), 100) for f in FINDINGS}
    out[TOTAL] = FindingScore(sum(s.localised for s in out.values()), 200)
    return out


def make_run(tmp_path: Path, protocol: str, curve: dict[int, tuple[float, float]]) -> Path:
    run = tmp_path / protocol
    run.mkdir()
    config = {"protocol": protocol, "findings": list(FINDINGS), "report_steps": [100, 200], "window_half_width": 50}
    (run / "config.json").write_text(json.dumps(config))
    for step, (a, e) in sorted(curve.items()):
        append_metrics(run / "metrics.csv", step, scores(Atelectasis=a, Effusion=e))
    return run


def test_metrics_log_round_trips(tmp_path):
    run = make_run(tmp_path, "ori", {50: (0.1, 0.2), 100: (0.3, 0.4)})
    report = load_run(run)
    assert report.series["Atelectasis"] == {50: 0.1, 100: 0.3}
    assert report.series[TOTAL] == {50: 0.15, 100: 0.35}


def test_truncating_the_log_drops_later_evaluations(tmp_path):
    run = make_run(tmp_path, "ori", {50: (0.1, 0.2), 100: (0.3, 0.4), 150: (0.5, 0.6)})
    truncate_metrics(run / "metrics.csv", 100)
    assert set(load_run(run).series["Effusion"]) == {50, 100}


def test_table_has_finding_rows_then_total_and_a_column_per_protocol_and_step(tmp_path):
    runs = [
        load_run(make_run(tmp_path, "ori+pix2pix-n", {100: (0.5, 0.5), 200: (0.6, 0.6)})),
        load_run(make_run(tmp_path, "ori", {100: (0.1, 0.2), 200: (0.3, 0.4)})),
        load_run(make_run(tmp_path, "ori+pix2pix", {100: (0.2, 0.2), 200: (0.4, 0.4)})),
    ]
    table = build_table(runs)
    assert table.rows == ("Atelectasis", "Effusion", MEAN_TOTAL, BOX_TOTAL)
    assert table.columns == (
        ("ori", 100), ("ori", 200), ("ori+pix2pix", 100), ("ori+pix2pix", 200),
        ("ori+pix2pix-n", 100), ("ori+pix2pix-n", 200),
    )
    assert table.values[("ori", 200)]["Effusion"] == pytest.approx(0.4)


def test_a_column_is_one_checkpoint_chosen_by_total_even_where_per_finding_maxima_differ(tmp_path):
    # Hand-made log: Atelectasis peaks at 60, Effusion at 100, Total at 140; per-row maxima would mix three checkpoints.
    run = make_run(tmp_path, "ori", {60: (0.9, 0.1), 100: (0.2, 0.8), 140: (0.6, 0.7), 200: (0.0, 0.0)})
    table = build_table([load_run(run)])
    assert table.checkpoints[("ori", 100)] == 140
    assert table.values[("ori", 100)] == pytest.approx({"Atelectasis": 0.6, "Effusion": 0.7, MEAN_TOTAL: 0.65,
                                                        BOX_TOTAL: 0.65})
    assert table.optimistic[("ori", 100)] == pytest.approx({"Atelectasis": 0.9, "Effusion": 0.8, MEAN_TOTAL: 0.65,
                                                            BOX_TOTAL: 0.65})


def test_the_papers_total_is_the_row_mean_and_the_box_weighted_total_is_shown_beside_it(tmp_path):
    # Unequal test boxes: Atelectasis 0.9 of 10 boxes, Effusion 0.2 of 90. Row mean 0.55 (the paper's), box-weighted
    # (9 + 18) / 100 = 0.27.
    run = tmp_path / "unequal"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"protocol": "ori", "findings": list(FINDINGS), "report_steps": [100],
                                                 "window_half_width": 50}))
    append_metrics(run / "metrics.csv", 100, {"Atelectasis": FindingScore(9, 10), "Effusion": FindingScore(18, 90),
                                              TOTAL: FindingScore(27, 100)})
    table = build_table([load_run(run)])
    assert table.values[("ori", 100)][MEAN_TOTAL] == pytest.approx(0.55)
    assert table.values[("ori", 100)][BOX_TOTAL] == pytest.approx(0.27)
    text = markdown(table)
    assert "| **Total (mean of rows)** | 0.55 |" in text and "| **Total (box-weighted)** | 0.27 |" in text


def test_the_checkpoint_is_chosen_by_the_papers_total_not_the_box_weighted_one(tmp_path):
    run = tmp_path / "choice"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"protocol": "ori", "findings": list(FINDINGS), "report_steps": [100],
                                                 "window_half_width": 50}))
    # Step 80: row mean 0.5, box-weighted 0.82; step 120: row mean 0.6, box-weighted 0.3.
    append_metrics(run / "metrics.csv", 80, {"Atelectasis": FindingScore(1, 10), "Effusion": FindingScore(81, 90),
                                             TOTAL: FindingScore(82, 100)})
    append_metrics(run / "metrics.csv", 120, {"Atelectasis": FindingScore(9, 10), "Effusion": FindingScore(27, 90),
                                              TOTAL: FindingScore(36, 100)})
    table = build_table([load_run(run)])
    assert table.checkpoints[("ori", 100)] == 120
    assert table.optimistic[("ori", 100)][BOX_TOTAL] == pytest.approx(0.82)


def test_the_optimistic_view_is_written_apart_and_labelled(tmp_path):
    run = make_run(tmp_path, "ori", {60: (0.9, 0.1), 100: (0.2, 0.8), 140: (0.6, 0.7), 200: (0.0, 0.0)})
    write_report([load_run(run)], tmp_path / "out")
    main_md = (tmp_path / "out" / "table2.md").read_text()
    optimistic_md = (tmp_path / "out" / "table2_optimistic.md").read_text()
    assert "| Atelectasis | 0.60 |" in main_md and "| Checkpoint step | 140 | 200 |" in main_md
    assert optimistic_md.startswith("Optimistic view: each cell is maximised on its own")
    assert "| Atelectasis | 0.90 |" in optimistic_md


def test_a_truncated_last_window_is_stated_in_the_table(tmp_path):
    run = make_run(tmp_path, "ori", {100: (0.1, 0.2), 200: (0.3, 0.4)})  # windows [50, 150] and [150, 250]
    table = build_table([load_run(run)])
    assert table.windows[("ori", 100)] == (50, 150, False) and table.windows[("ori", 200)] == (150, 200, True)
    text = markdown(table)
    assert "| Finding | Ori 100 | Ori 200* |" in text
    assert "Ori 200: window truncated to [150, 200] (the run ends at 200)" in text


def test_mean_false_positives_per_image_stand_beside_cl(tmp_path):
    run = tmp_path / "fp"
    run.mkdir()
    config = {"protocol": "ori", "findings": list(FINDINGS), "report_steps": [100], "window_half_width": 50}
    (run / "config.json").write_text(json.dumps(config))
    append_metrics(run / "metrics.csv", 100, scores(Atelectasis=0.5, Effusion=0.5),
                   {"Atelectasis": 3, "Effusion": 4, TOTAL: 7}, images=4)
    assert "| Mean FP per image | 1.75 |" in markdown(build_table([load_run(run)]))


def test_the_header_says_how_the_backbone_started(tmp_path):
    scratch = make_run(tmp_path, "ori", {100: (0.1, 0.2), 200: (0.3, 0.4)})
    config = json.loads((scratch / "config.json").read_text())
    (scratch / "config.json").write_text(json.dumps({**config, "backbone": "resnet18_fpn", "backbone_weights": None}))
    assert "backbone resnet18_fpn, from scratch (random weights)" in markdown(build_table([load_run(scratch)]))
    pretrained = make_run(tmp_path, "ori+pix2pix", {100: (0.1, 0.2), 200: (0.3, 0.4)})
    (pretrained / "config.json").write_text(json.dumps({**config, "protocol": "ori+pix2pix",
                                                        "backbone": "resnet18_fpn",
                                                        "backbone_weights": "/w/resnet18-imagenet.pth"}))
    header = markdown(build_table([load_run(scratch), load_run(pretrained)])).splitlines()[0]
    assert "Ori: resnet18_fpn, from scratch" in header
    assert "Ori+Pix2Pix: resnet18_fpn, from supplied pretrained weights (resnet18-imagenet.pth)" in header


def test_csv_and_markdown_follow_the_paper_layout(tmp_path):
    runs = [
        load_run(make_run(tmp_path, "ori", {100: (0.1, 0.2), 200: (0.3, 0.4)})),
        load_run(make_run(tmp_path, "ori+pix2pix", {100: (0.25, 0.5), 200: (0.5, 0.75)})),
    ]
    out = tmp_path / "table"
    write_report(runs, out)
    with (out / "table2.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Finding", "Ori", "Ori", "Ori+Pix2Pix", "Ori+Pix2Pix"]
    assert rows[1] == ["", "100", "200*", "100", "200*"]
    assert [r[0] for r in rows[2:]] == ["Atelectasis", "Effusion", "Total (mean of rows)", "Total (box-weighted)",
                                        "Mean FP per image", "Checkpoint step", "Window", "Note"]
    assert rows[3] == ["Effusion", "0.2000", "0.4000", "0.5000", "0.7500"]
    md = (out / "table2.md").read_text().splitlines()
    assert md[2] == "| Finding | Ori 100 | Ori 200* | Ori+Pix2Pix 100 | Ori+Pix2Pix 200* |"
    assert "| **Total (mean of rows)** | 0.15 | 0.35 | 0.38 | 0.62 |" in md
    assert "| **Total (box-weighted)** | 0.15 | 0.35 | 0.38 | 0.62 |" in md
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_step_labels_are_written_in_thousands():
    assert [step_label(s) for s in (5000, 10000, 12500, 750)] == ["5k", "10k", "12.5k", "750"]


def test_two_runs_of_one_protocol_are_refused(tmp_path):
    a = load_run(make_run(tmp_path, "ori", {100: (0.1, 0.2), 200: (0.3, 0.4)}))
    with pytest.raises(ValueError, match="two runs of protocol 'ori'"):
        build_table([a, a])


def test_a_run_whose_window_has_no_evaluation_is_refused(tmp_path):
    run = load_run(make_run(tmp_path, "ori", {100: (0.1, 0.2)}))
    with pytest.raises(ScheduleError, match="no evaluation in the window"):
        build_table([run])


def test_an_undefined_cell_prints_as_a_dash():
    report = RunReport("ori", FINDINGS, (100,), 50, {"Atelectasis": {100: 0.5}, "Effusion": {100: None},
                                                     TOTAL: {100: 0.5}})
    assert "| Effusion | – |" in markdown(build_table([report]))
