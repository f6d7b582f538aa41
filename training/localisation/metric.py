"""Correct localisation (CL), the NIH ChestX-ray14 benchmark's box metric, with IoU or IoBB as the overlap.

A ground-truth box counts as correctly localised when at least one predicted box *of the same finding* overlaps it
with an overlap strictly above the threshold T (0.1 in the paper), as Wang et al. (CVPR 2017) count it ("IoBB > T").
Two overlaps are offered:

* ``iou``: intersection over union, as the paper reports it;
* ``iobb``: intersection over the *predicted* box's area, as defined by Wang et al. (CVPR 2017).

CL of a finding is (localised ground-truth boxes of that finding) / (ground-truth boxes of that finding); ``Total``
here is the same ratio over all boxes of all findings (box-weighted). The paper's Table 2 Total is the unweighted mean
of its rows; :mod:`training.localisation.table2` shows both, named.

Boxes are (x1, y1, x2, y2) in pixels. Which predictions take part (score threshold, how many per image) is decided by
the caller; this module only scores what it is given.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CRITERIA = ("iou", "iobb")
TOTAL = "Total"
# Overlaps are ratios of float areas; an overlap exactly at the threshold must not count as above it when the division
# rounds up by a last bit.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LabelledBox:
    """One box with its finding, corners in pixels (x1 < x2, y1 < y2)."""

    finding: str
    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def from_xywh(cls, finding: str, x: float, y: float, w: float, h: float) -> LabelledBox:
        return cls(finding, x, y, x + w, y + h)

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)


@dataclass(frozen=True)
class FindingScore:
    localised: int
    total: int

    @property
    def cl(self) -> float | None:
        """The CL ratio, or None when the finding has no ground-truth box (undefined, not zero)."""
        return self.localised / self.total if self.total else None


def intersection(a: LabelledBox, b: LabelledBox) -> float:
    width = min(a.x2, b.x2) - max(a.x1, b.x1)
    height = min(a.y2, b.y2) - max(a.y1, b.y1)
    return width * height if width > 0 and height > 0 else 0.0


def iou(truth: LabelledBox, predicted: LabelledBox) -> float:
    inter = intersection(truth, predicted)
    union = truth.area + predicted.area - inter
    return inter / union if union > 0 else 0.0


def iobb(truth: LabelledBox, predicted: LabelledBox) -> float:
    """Intersection over the predicted box's area (Wang et al. 2017)."""
    area = predicted.area
    return intersection(truth, predicted) / area if area > 0 else 0.0


def overlap(truth: LabelledBox, predicted: LabelledBox, criterion: str) -> float:
    if criterion == "iou":
        return iou(truth, predicted)
    if criterion == "iobb":
        return iobb(truth, predicted)
    raise ValueError(f"unknown overlap criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")


def is_localised(truth: LabelledBox, predictions: Iterable[LabelledBox], criterion: str = "iou",
                 threshold: float = 0.1) -> bool:
    """True when some prediction of the truth's finding overlaps it strictly above ``threshold`` (Wang et al.)."""
    return any(
        p.finding == truth.finding and overlap(truth, p, criterion) > threshold + _TOLERANCE for p in predictions
    )


def correct_localisation(
    truths: Sequence[Sequence[LabelledBox]],
    predictions: Sequence[Sequence[LabelledBox]],
    findings: Sequence[str],
    criterion: str = "iou",
    threshold: float = 0.1,
) -> dict[str, FindingScore]:
    """CL per finding and Total over a set of images.

    ``truths[i]`` and ``predictions[i]`` are the ground-truth and predicted boxes of image i. A ground-truth finding
    outside ``findings`` is an error (the detector cannot have been built for it); predictions of other findings are
    simply never matched.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown overlap criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} images of ground truth but {len(predictions)} of predictions")
    localised = dict.fromkeys(findings, 0)
    total = dict.fromkeys(findings, 0)
    for image_truths, image_predictions in zip(truths, predictions, strict=True):
        for truth in image_truths:
            if truth.finding not in total:
                raise ValueError(f"ground-truth finding {truth.finding!r} is not one of {', '.join(findings)}")
            total[truth.finding] += 1
            if is_localised(truth, image_predictions, criterion, threshold):
                localised[truth.finding] += 1
    scores = {f: FindingScore(localised[f], total[f]) for f in findings}
    scores[TOTAL] = FindingScore(sum(localised.values()), sum(total.values()))
    return scores


def false_positives(
    truths: Sequence[Sequence[LabelledBox]],
    predictions: Sequence[Sequence[LabelledBox]],
    findings: Sequence[str],
    criterion: str = "iou",
    threshold: float = 0.1,
) -> dict[str, int]:
    """Per finding and Total: predicted boxes that overlap no ground-truth box of their finding above ``threshold``.

    CL does not penalise them, so they are reported beside it (a detector can raise CL by guessing more boxes).
    """
    counts = dict.fromkeys(findings, 0)
    for image_truths, image_predictions in zip(truths, predictions, strict=True):
        for predicted in image_predictions:
            if predicted.finding not in counts:
                continue
            if not any(t.finding == predicted.finding and overlap(t, predicted, criterion) > threshold + _TOLERANCE
                       for t in image_truths):
                counts[predicted.finding] += 1
    counts[TOTAL] = sum(counts.values())
    return counts
