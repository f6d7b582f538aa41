"""Box avoidance, marks per read and the wAFROC-style figure, on hand-built reads whose answers are known."""
import numpy as np
import pytest

from analysis.marks.regions import CaseTruth, PixelKind
from analysis.marks.simulate import MarkingConfig, box_kept_cases, simulate_marks
from analysis.marks.statistics import MarkData, box_avoidance, localisation_scores, marks_per_read, wafroc

BOX = (0.0, 0.0, 112.0, 112.0)  # a quarter of the image


def _two_readers_two_fakes_one_real() -> MarkData:
    cases = [CaseTruth(PixelKind.BOX_KEPT, BOX), CaseTruth(PixelKind.BOX_KEPT, BOX), CaseTruth(PixelKind.REAL)]
    # reads: (reader, case); marks: (read, x, y, rating)
    reads = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    marks = [(0, 10, 10, 5), (0, 150, 150, 3), (1, 200, 200, 4), (2, 100, 180, 2),
             (3, 170, 20, 5), (4, 50, 50, 1)]
    return MarkData.build(n_readers=2, cases=cases, read_reader=[r for r, _ in reads], read_case=[k for _, k in reads],
                          mark_read=[m[0] for m in marks], mark_x=[m[1] for m in marks],
                          mark_y=[m[2] for m in marks], mark_rating=[m[3] for m in marks])


def test_the_box_avoidance_ratio_is_the_share_inside_over_the_boxs_share():
    data = _two_readers_two_fakes_one_real()
    result = box_avoidance(data, np.array([True, True, False]), resamples=200)
    # 5 marks on the fakes, 2 inside the box (a quarter of the image each): 0.4 against 0.25
    assert (result.marks, result.images) == (5, 2)
    assert result.share_inside == pytest.approx(0.4) and result.box_share == pytest.approx(0.25)
    assert result.ratio.estimate == pytest.approx(1.6)


def test_marks_per_read_counts_every_read_including_those_without_marks():
    data = _two_readers_two_fakes_one_real()
    assert marks_per_read(data, np.array([False, False, True]), resamples=200).estimate == pytest.approx(0.5)
    assert marks_per_read(data, np.array([True, True, False]), resamples=200).estimate == pytest.approx(5 / 4)


def test_a_fake_counts_as_found_only_by_a_mark_on_its_generated_region():
    data = _two_readers_two_fakes_one_real()
    # reader 0: case 0 best generated-region mark 3 (the 5 is in the box), case 1 4, the real image's FP 2
    # reader 1: case 0 5, case 1 only a mark in the box -> unmarked (0), the real image unmarked (0)
    assert localisation_scores(data).tolist() == [3.0, 4.0, 2.0, 5.0, 0.0, 0.0]
    assert wafroc(data).tolist() == [1.0, 0.75]


def test_no_marks_gives_no_ratio_and_no_interval():
    data = MarkData.build(n_readers=1, cases=[CaseTruth(PixelKind.BOX_KEPT, BOX)], read_reader=[0], read_case=[0])
    result = box_avoidance(data, np.array([True]))
    assert result.marks == 0 and result.ratio.estimate is None


def test_simulated_readers_who_avoid_the_box_are_recovered_with_an_interval_that_holds_the_truth():
    config = MarkingConfig(true_ratio=0.4)
    data = simulate_marks(config, seed=3)
    result = box_avoidance(data, box_kept_cases(data), resamples=500)
    assert result.ratio.low <= config.true_ratio <= result.ratio.high
    assert result.ratio.high < 1  # the avoidance is visible: readers marked the box less than its size predicts


def test_no_mark_inside_any_box_gives_a_ratio_of_0_without_a_false_interval():
    cases = [CaseTruth(PixelKind.BOX_KEPT, BOX) for _ in range(3)]
    reads = [(r, k) for r in range(3) for k in range(3)]
    data = MarkData.build(n_readers=3, cases=cases, read_reader=[r for r, _ in reads], read_case=[k for _, k in reads],
                          mark_read=list(range(9)), mark_x=[200.0] * 9, mark_y=[200.0] * 9)
    ratio = box_avoidance(data, np.ones(3, dtype=bool), resamples=100).ratio
    assert ratio.estimate == 0 and ratio.low is None and ratio.high is None
