"""Correct localisation on hand-made boxes whose answer is known exactly."""
from __future__ import annotations

import pytest

from training.localisation.metric import TOTAL, LabelledBox, correct_localisation, iobb, iou, is_localised

FINDINGS = ("Atelectasis", "Effusion")


def box(x: float, y: float, w: float, h: float, finding: str = "Atelectasis") -> LabelledBox:
    return LabelledBox.from_xywh(finding, x, y, w, h)


# Truth: 10x10 at the origin (area 100). A prediction of area a wholly inside it has IoU a / 100 exactly.
TRUTH = box(0, 0, 10, 10)


def test_iou_exactly_at_the_threshold_is_not_localised_as_wang_et_al_count_only_above_it():
    inside = box(0, 0, 1, 10)  # area 10 inside area 100: IoU = 10/100
    assert iou(TRUTH, inside) == pytest.approx(0.1)
    assert not is_localised(TRUTH, [inside], "iou", 0.1)


def test_iou_just_under_the_threshold_is_not_localised():
    inside = box(0, 0, 0.999, 10)  # IoU 0.0999
    assert iou(TRUTH, inside) < 0.1
    assert not is_localised(TRUTH, [inside], "iou", 0.1)


def test_iou_just_above_the_threshold_is_localised():
    inside = box(0, 0, 1.001, 10)  # IoU 0.1001
    assert is_localised(TRUTH, [inside], "iou", 0.1)


def test_iou_of_a_partly_overlapping_box_uses_the_union():
    shifted = box(5, 0, 10, 10)  # overlap 50, union 150
    assert iou(TRUTH, shifted) == pytest.approx(1 / 3)


def test_iobb_divides_by_the_predicted_box_area_not_the_union():
    # A small prediction wholly inside a large truth: IoU 0.01 (not localised at 0.1), IoBB 1.0 (localised).
    small = box(0, 0, 1, 1)
    assert iou(TRUTH, small) == pytest.approx(0.01)
    assert iobb(TRUTH, small) == pytest.approx(1.0)
    assert not is_localised(TRUTH, [small], "iou", 0.1)
    assert is_localised(TRUTH, [small], "iobb", 0.1)


def test_iobb_of_a_large_prediction_is_the_share_of_it_on_the_truth():
    bigger = box(0, 0, 99, 10)  # area 990, overlap 100: IoBB just over 0.1
    big = box(0, 0, 100, 10)  # area 1000, overlap 100: IoBB exactly 0.1 (not above it)
    huge = box(0, 0, 101, 10)  # IoBB just under 0.1
    assert is_localised(TRUTH, [bigger], "iobb", 0.1)
    assert not is_localised(TRUTH, [big], "iobb", 0.1)
    assert not is_localised(TRUTH, [huge], "iobb", 0.1)


def test_a_prediction_of_another_finding_never_localises():
    same_place_other_finding = box(0, 0, 10, 10, "Effusion")
    assert not is_localised(TRUTH, [same_place_other_finding], "iou", 0.1)
    assert not is_localised(TRUTH, [same_place_other_finding], "iobb", 0.1)


def test_no_prediction_is_not_localised():
    assert not is_localised(TRUTH, [], "iou", 0.1)


def test_disjoint_boxes_do_not_overlap():
    assert iou(TRUTH, box(20, 20, 5, 5)) == 0.0
    assert iobb(TRUTH, box(10, 0, 5, 5)) == 0.0  # touching edges only


def test_cl_per_finding_and_total_count_boxes():
    truths = [
        [box(0, 0, 10, 10), box(50, 50, 10, 10, "Effusion")],  # Atelectasis found, Effusion missed (wrong place)
        [box(0, 0, 10, 10)],  # Atelectasis, no prediction at all
        [box(0, 0, 10, 10, "Effusion")],  # Effusion found
    ]
    predictions = [
        [box(0, 0, 10, 10), box(0, 0, 10, 10, "Effusion")],
        [],
        [box(1, 1, 9, 9, "Effusion")],
    ]
    scores = correct_localisation(truths, predictions, FINDINGS, "iou", 0.1)
    assert (scores["Atelectasis"].localised, scores["Atelectasis"].total) == (1, 2)
    assert (scores["Effusion"].localised, scores["Effusion"].total) == (1, 2)
    assert scores[TOTAL].cl == pytest.approx(2 / 4)


def test_a_finding_without_test_boxes_has_no_cl_rather_than_zero():
    scores = correct_localisation([[box(0, 0, 10, 10)]], [[box(0, 0, 10, 10)]], FINDINGS)
    assert scores["Effusion"].cl is None
    assert scores["Atelectasis"].cl == 1.0


def test_a_ground_truth_finding_the_detector_does_not_know_is_an_error():
    with pytest.raises(ValueError, match="'Mass' is not one of"):
        correct_localisation([[box(0, 0, 10, 10, "Mass")]], [[]], FINDINGS)


def test_an_unknown_criterion_is_an_error():
    with pytest.raises(ValueError, match="unknown overlap criterion"):
        correct_localisation([[TRUTH]], [[TRUTH]], FINDINGS, criterion="dice")
