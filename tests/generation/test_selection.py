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


def test_shortage_names_every_finding_the_constraint_and_the_shortfall():
    with pytest.raises(GenerationError) as raised:
        plan_verification_set(_world(boxed_test=3, boxed_train=3, unboxed=9), FINDINGS, per_cell=5, seed=0)
    lines = str(raised.value).splitlines()
    assert lines[0] == "the plan cannot meet its constraints with these data:"
    assert len(lines) == 1 + len(FINDINGS)  # one line per finding, none relaxed silently
    for finding, line in zip(FINDINGS, lines[1:], strict=True):
        assert line.strip().startswith(f"{finding} / Pix2Pix and Pix2Pix-N on equal terms: 5 each (disjoint "
                                       "pairing) needs 5 matched pairs (same view and label count, box areas within "
                                       "25%), 2 formed (3 box images unseen by both generators, 3 seen by both")
        assert "short by 3" in line


def test_shortage_of_real_images_names_the_finding():
    world = _world(boxed_test=0, boxed_train=12, unboxed=2)
    with pytest.raises(GenerationError, match=r"Atelectasis / Real: 3 single-label any-view images needed to match "
                                              r"the Pix2Pix column, found 2 .*: short by 1"):
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
    assert not any(p.reused for p in plan if p.source == REAL)
    for source in (REAL, STARGAN, PIX2PIX, PIX2PIX_N):
        images = [p.origin_image for p in plan if p.source == source]
        assert len(images) == len(set(images))


def test_multi_label_image_serves_in_one_cell_only():
    world = _world(unboxed=3)
    shared = "shared.png"
    world.labels[shared] = ("Atelectasis", "Effusion")
    plan = plan_verification_set(world, FINDINGS, per_cell=3, seed=0)
    assert sum(p.origin_image == shared for p in plan) <= 1


def _varied_world(seed: int = 0, per_finding: int = 40, finding: str = "Effusion"):
    """Box images of one finding with varied areas, views, label counts and patients (two images per patient),
    labelled box-free images of both views and label counts, and healthy images."""
    import random

    rng = random.Random(seed)
    boxes, labels, views, patients = [], {}, {}, {}
    for i in range(per_finding):
        image = f"box_{i:03d}.png"
        side = rng.choice([60, 80, 100, 150, 220, 300])
        boxes.append(Box(image, finding, 300, 300, side, side))
        labels[image] = (finding, "Mass") if i % 3 == 0 else (finding,)
        labels[image] = (finding, "Atelectasis") if i % 3 == 1 else labels[image]
        views[image] = "PA" if rng.random() < 0.6 else "AP"
        patients[image] = f"p{i // 2}"
    for i in range(60):
        image = f"lab_{i:03d}.png"
        labels[image] = (finding, "Infiltration") if i % 2 else (finding,)
        views[image], patients[image] = ("PA" if i % 4 < 2 else "AP"), f"q{i}"
    healthy = [f"h_{i:03d}.png" for i in range(60)]
    for i, image in enumerate(healthy):
        labels[image], views[image], patients[image] = ("No Finding",), "PA" if i % 2 else "AP", f"h{i}"
    empty = frozenset()
    return SelectionInputs(boxes, labels, healthy, {"pix2pix": empty, "pix2pix-n": empty, "stargan": empty}, views,
                           patients=patients)


def test_the_two_generators_origins_match_pair_by_pair_on_view_label_count_and_box_area():
    world = _varied_world()
    plan = plan_verification_set(world, ("Effusion",), per_cell=8, seed=0, area_tolerance=0.25)
    a = sorted((p.view, p.multi_label, p.box_area) for p in plan if p.source == PIX2PIX)
    b = sorted((p.view, p.multi_label, p.box_area) for p in plan if p.source == PIX2PIX_N)
    assert Counter(x[:2] for x in a) == Counter(x[:2] for x in b)
    for group in set(x[:2] for x in a):  # within a group, the k-th smallest boxes lie within the tolerance
        for (*_, area_a), (*_, area_b) in zip([x for x in a if x[:2] == group], [x for x in b if x[:2] == group],
                                              strict=True):
            assert max(area_a, area_b) <= 1.25 * min(area_a, area_b) + 1e-12


def test_no_patient_serves_under_two_sources():
    world = _varied_world()
    plan = plan_verification_set(world, ("Effusion",), per_cell=8, seed=0)
    sources_of: dict[str, set] = {}
    for p in plan:
        sources_of.setdefault(world.patients[p.origin_image], set()).add(p.source)
    assert all(len(sources) == 1 for sources in sources_of.values())
    assert all(p.patient == world.patients[p.origin_image] for p in plan)


def test_the_real_column_has_the_generators_view_and_label_mix():
    plan = plan_verification_set(_varied_world(), ("Effusion",), per_cell=8, seed=0)
    mix = {source: Counter((p.view, p.multi_label) for p in plan if p.source == source) for source in (REAL, PIX2PIX)}
    assert mix[REAL] == mix[PIX2PIX]
    assert Counter(p.view for p in plan if p.source == STARGAN) == Counter(p.view for p in plan if p.source == REAL)


def test_a_label_mix_the_data_cannot_meet_is_filled_and_said_in_the_notes_not_silently():
    from generation.selection import plan_with_notes

    world = _varied_world()
    for image in [i for i in world.labels if i.startswith("lab_")]:
        world.labels[image] = ("Effusion",)  # no multi-label box-free image left for Real
    plan, notes = plan_with_notes(world, ("Effusion",), per_cell=8, seed=0)
    multi = sum(p.multi_label for p in plan if p.source == PIX2PIX)
    assert notes and all(n["source"] == REAL and n["constraint"].startswith("label mix") for n in notes)
    short = sum(n["needed"] - n["found"] for n in notes)  # only unused multi-label box images were left for Real
    assert sum(p.multi_label for p in plan if p.source == REAL) == multi - short > 0
    assert Counter(p.view for p in plan if p.source == REAL) == Counter(p.view for p in plan if p.source == PIX2PIX)


def test_boxes_too_unequal_in_area_are_never_paired():
    boxes = [Box("small.png", "Effusion", 0, 0, 10, 10), Box("large.png", "Effusion", 0, 0, 20, 20)]
    labels = {"small.png": ("Effusion",), "large.png": ("Effusion",), "r.png": ("Effusion",), "h.png": ("No Finding",)}
    empty = frozenset()
    world = SelectionInputs(boxes, labels, ["h.png"], {"pix2pix": empty, "pix2pix-n": empty, "stargan": empty})
    with pytest.raises(GenerationError, match=r"0 formed .* 2 left without a match"):
        plan_verification_set(world, ("Effusion",), per_cell=1, seed=0, area_tolerance=0.25)
    plan = plan_verification_set(world, ("Effusion",), per_cell=1, seed=0, area_tolerance=3.0)  # 4x the area fits
    assert {p.origin_image for p in plan if p.source in (PIX2PIX, PIX2PIX_N)} == {"small.png", "large.png"}
