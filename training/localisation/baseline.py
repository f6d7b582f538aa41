"""The chance level of correct localisation: boxes placed at random, as many as the detector placed.

For every test image and every finding of its ground truth, the baseline draws as many boxes as the detector predicted
for that finding in that image (at least one, so a silent detector is compared with a guessing one), each with the
width and height of a random training box of that finding, at a uniformly random position inside the image. Its CL
is averaged over many draws. A detector that has learnt where findings lie must beat it clearly; one that only
learnt box sizes or guesses many boxes does not.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from training.localisation.metric import TOTAL, LabelledBox, correct_localisation


def random_box_baseline(truths: Sequence[Sequence[LabelledBox]], predictions: Sequence[Sequence[LabelledBox]],
                        training_boxes: Mapping[str, Sequence[LabelledBox]], image_size: int,
                        findings: Sequence[str], criterion: str = "iou", threshold: float = 0.1, draws: int = 50,
                        seed: int = 0) -> dict[str, float | None]:
    """Mean CL per finding and Total of random boxes over ``draws`` draws (None where a finding has no test box)."""
    rng = np.random.default_rng(seed)
    sizes = {f: np.array([(b.x2 - b.x1, b.y2 - b.y1) for b in boxes], dtype=np.float64)
             for f, boxes in training_boxes.items() if boxes}
    totals: dict[str, list[float]] = {name: [] for name in (*findings, TOTAL)}
    for _ in range(draws):
        guesses = []
        for image_truths, image_predictions in zip(truths, predictions, strict=True):
            placed = []
            for finding in sorted({t.finding for t in image_truths}):
                shapes = sizes.get(finding)
                if shapes is None:
                    continue
                count = max(1, sum(1 for p in image_predictions if p.finding == finding))
                for w, h in shapes[rng.integers(len(shapes), size=count)]:
                    w, h = min(w, image_size), min(h, image_size)
                    x, y = rng.uniform(0, image_size - w), rng.uniform(0, image_size - h)
                    placed.append(LabelledBox(finding, x, y, x + w, y + h))
            guesses.append(placed)
        scores = correct_localisation(truths, guesses, findings, criterion, threshold)
        for name, score in scores.items():
            if score.cl is not None:
                totals[name].append(score.cl)
    return {name: float(np.mean(values)) if values else None for name, values in totals.items()}
