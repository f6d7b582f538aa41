"""Which source image goes into which cell: composition, one cell per image, test split first, untrained reals."""
from collections import Counter
from dataclasses import dataclass

import pytest

from generation.errors import GenerationError
from generation.selection import PIX2PIX, PIX2PIX_N, REAL, STARGAN, SelectionInputs, plan_verification_set

FINDINGS = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax")


@dataclass(frozen=True)
class Box:
    image: str
    finding: str
    x: float = 10
    y: float = 10
    w: float = 20
    h: float = 20


def _world(boxed_test=6, boxed_train=6, unboxed=4, healthy=40, findings=FINDINGS):
    """Per finding: box images in the test and training splits, and labelled images with no box."""
    boxes, labels, train = [], {}, set()
    for finding in findings:
        for i in range(boxed_test + boxed_train):
            image = f"{finding}_box_{i:03d}.png"
            boxes.append(Box(image, finding))
            labels[image] = (finding,)
            if i >= boxed_test:
                train.add(image)
        for i in range(unboxed):
            labels[f"{finding}_lab_{i:03d}.png"] = (finding,)
    healthy_images = [f"healthy_{i:03d}.png" for i in range(healthy)]
    labels.update({image: ("No Finding",) for image in healthy_images})
    train_images = {"pix2pix": frozenset(train), "pix2pix-n": frozenset(train), "stargan": frozenset(train)}
    return SelectionInputs(boxes=boxes, labels=labels, healthy=healthy_images, train_images=train_images)


def test_plan_has_every_cell_full_with_distinct_images():
    plan = plan_verification_set(_world(), FINDINGS, per_cell=3, seed=0)
    assert Counter((p.finding, p.source) for p in plan) == {
        (f, s): 3 for f in FINDINGS for s in (REAL, STARGAN, PIX2PIX, PIX2PIX_N)}
    assert len({p.origin_image for p in plan}) == len(plan) == 6 * 4 * 3
    assert not any(p.reused for p in plan)


def test_generators_take_their_test_split_first():
    plan = plan_verification_set(_world(boxed_test=6, unboxed=4), FINDINGS, per_cell=3, seed=0)
    assert {p.split for p in plan if p.source in (PIX2PIX, PIX2PIX_N)} == {"test"}


def test_generators_fall_back_to_the_training_split_and_record_it():
    plan = plan_verification_set(_world(boxed_test=4, unboxed=3), FINDINGS, per_cell=3, seed=0)
    splits = Counter(p.split for p in plan if p.source in (PIX2PIX, PIX2PIX_N) and p.finding == "Effusion")
    assert splits == {"test": 4, "train": 2}


def test_real_images_are_never_training_images():
    world = _world(boxed_test=4, boxed_train=8, unboxed=1)
    trained = set().union(*world.train_images.values())
    plan = plan_verification_set(world, FINDINGS, per_cell=3, seed=0)
    reals = [p for p in plan if p.source == REAL]
    assert reals and not any(p.origin_image in trained for p in reals)


def test_test_box_images_are_kept_back_for_real_when_unboxed_ones_run_short():
    # 1 unboxed image per finding: Real needs 2 untrained box images, the generators go to the training split.
    plan = plan_verification_set(_world(boxed_test=4, boxed_train=8, unboxed=1), FINDINGS, per_cell=3, seed=0)
    assert Counter(p.split for p in plan if p.source in (PIX2PIX, PIX2PIX_N) and p.finding == "Cardiomegaly") == {
        "test": 2, "train": 4}


def test_pix2pix_boxes_are_the_annotations_of_the_cell_finding():
    plan = plan_verification_set(_world(), FINDINGS, per_cell=3, seed=0)
    for p in plan:
        if p.source in (PIX2PIX, PIX2PIX_N):
            assert p.box == (10, 10, 20, 20) and p.origin_image.startswith(p.finding)
        else:
            assert p.box is None


def test_same_seed_same_plan_other_seed_other_plan():
    world = _world()
    first = plan_verification_set(world, FINDINGS, per_cell=3, seed=5)
    assert first == plan_verification_set(world, FINDINGS, per_cell=3, seed=5)
    assert first != plan_verification_set(world, FINDINGS, per_cell=3, seed=6)


def test_shortage_names_the_cell_and_the_shortfall():
    with pytest.raises(GenerationError, match=r"Atelectasis / Pix2Pix and Pix2Pix-N on equal terms: 5 each .* "
                                              r"needs 10 distinct box images, 6 are usable .* short by 4"):
        plan_verification_set(_world(boxed_test=3, boxed_train=3, unboxed=9), FINDINGS, per_cell=5, seed=0)


def test_shortage_of_real_images_names_the_finding():
    world = _world(boxed_test=0, boxed_train=12, unboxed=2)
    with pytest.raises(GenerationError, match=r"Atelectasis / Real: need 3 real images .* found 2 unused"):
        plan_verification_set(world, FINDINGS, per_cell=3, seed=0)


def test_allow_reuse_reuses_across_sources_and_records_it():
    # Real needs 2 box images per finding; the generators then have 2 left for 4 disjoint origins without reuse.
    world = _world(boxed_test=4, boxed_train=0, unboxed=0)
    with pytest.raises(GenerationError, match="--allow-reuse relaxes that"):
        plan_verification_set(world, FINDINGS, per_cell=2, seed=0)
    plan = plan_verification_set(world, FINDINGS, per_cell=2, seed=0, allow_reuse=True)
    reused = [p for p in plan if p.reused]
    assert reused and {p.source for p in reused} <= {PIX2PIX, PIX2PIX_N}
    reals = {p.origin_image for p in plan if p.source == REAL}
    assert all(p.origin_image in reals for p in reused)
    for source in (REAL, STARGAN, PIX2PIX, PIX2PIX_N):
        images = [p.origin_image for p in plan if p.source == source]
        assert len(images) == len(set(images))


def test_multi_label_image_serves_in_one_cell_only():
    world = _world(unboxed=3)
    shared = "shared.png"
    world.labels[shared] = ("Atelectasis", "Effusion")
    plan = plan_verification_set(world, FINDINGS, per_cell=3, seed=0)
    assert sum(p.origin_image == shared for p in plan) <= 1
