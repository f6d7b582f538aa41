"""The plan on the real NIH metadata (tests/data/nih-metadata): equal terms for the two Pix2Pix generators, matched
pairs, single-label real images first, views, boxes in the crop margin, and the ``plan`` command with its bad input."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from generation.cli import main
from generation.errors import GenerationError
from generation.plan import PlanSettings, cell_table, inputs_from_metadata
from generation.selection import (
    PIX2PIX,
    PIX2PIX_N,
    REAL,
    STARGAN,
    SelectionInputs,
    box_fraction_kept,
    plan_verification_set,
)
from training.data.nih import FINDINGS

NIH = Path(__file__).resolve().parents[1] / "data" / "nih-metadata"


@pytest.fixture(scope="module")
def real_inputs() -> SelectionInputs:
    return inputs_from_metadata(PlanSettings(data_dir=NIH))[0]


@pytest.fixture(scope="module", params=["disjoint", "matched"])
def real_plan(request, real_inputs):
    return request.param, plan_verification_set(real_inputs, FINDINGS, 25, 0, pairing=request.param)


def _cells(plan) -> dict[tuple[str, str], dict]:
    return {(row["source"], row["finding"]): row for row in cell_table(plan)}


def test_both_pix2pix_generators_saw_as_many_origins_in_every_finding(real_plan):
    _, plan = real_plan
    cells = _cells(plan)
    for finding in FINDINGS:
        a, b = cells[(PIX2PIX, finding)], cells[(PIX2PIX_N, finding)]
        assert (a["origins"], a["seen"], a["unseen"]) == (b["origins"], b["seen"], b["unseen"])
        assert a["origins"] == 25


def test_training_origins_are_used_only_when_no_unseen_match_is_left(real_plan, real_inputs):
    from generation.selection import DEFAULT_AREA_TOLERANCE, _area_matched_pairs

    pairing, plan = real_plan
    train = real_inputs.train_images["pix2pix"]
    used = {p.origin_image for p in plan}
    patients_used = {p.patient for p in plan}
    for finding in FINDINGS:
        if not _cells(plan)[(PIX2PIX, finding)]["seen"]:
            continue
        box_of = {b.image: b for b in real_inputs.boxes if b.finding == finding and b.image not in train
                  and box_fraction_kept((b.x, b.y, b.w, b.h), (1024, 1024), real_inputs.crop_margin) > 0.5}
        left = [i for i in box_of if i not in used and real_inputs.patients[i] not in patients_used]
        if pairing == "matched":
            assert left == []
            continue
        multi = {i: sum(1 for x in real_inputs.labels[i] if x != "No Finding") > 1 for i in left}
        pairs, _ = _area_matched_pairs(left, box_of, real_inputs.views.get, multi.get,
                                       lambda b: b.w * b.h / 1024**2, real_inputs.patients.get,
                                       DEFAULT_AREA_TOLERANCE)
        assert pairs == []  # no unseen pair of free patients was passed over for a seen one


def test_matched_pairing_gives_both_generators_the_same_origin_boxes(real_inputs):
    plan = plan_verification_set(real_inputs, FINDINGS, 25, 0, pairing="matched")
    for finding in FINDINGS:
        a = sorted((p.origin_image, p.box) for p in plan if p.source == PIX2PIX and p.finding == finding)
        b = sorted((p.origin_image, p.box) for p in plan if p.source == PIX2PIX_N and p.finding == finding)
        assert a == b and len(a) == 25


def test_disjoint_pairing_gives_distinct_origins(real_inputs):
    plan = plan_verification_set(real_inputs, FINDINGS, 25, 0, pairing="disjoint")
    origins = Counter(p.origin_image for p in plan)
    assert max(origins.values()) == 1


def test_real_matches_the_generators_label_count_and_every_source_their_view_mix(real_plan):
    _, plan = real_plan
    cells = _cells(plan)
    for finding in FINDINGS:
        for column in ("multi_label", "PA", "AP"):
            assert cells[(REAL, finding)][column] == cells[(PIX2PIX, finding)][column] == cells[
                (PIX2PIX_N, finding)][column], (finding, column)
        assert cells[(STARGAN, finding)]["PA"] == cells[(REAL, finding)]["PA"]


def test_mean_box_areas_of_the_two_generators_agree_in_every_finding(real_plan):
    _, plan = real_plan
    cells = _cells(plan)
    for finding in FINDINGS:
        a, b = cells[(PIX2PIX, finding)]["mean_box_area"], cells[(PIX2PIX_N, finding)]["mean_box_area"]
        assert abs(a - b) <= 0.1 * max(a, b), finding


def test_no_patient_serves_under_two_sources_on_the_real_metadata(real_inputs):
    from generation.plan import patient_overlap

    plan = plan_verification_set(real_inputs, FINDINGS, 25, 0)
    overlap = patient_overlap(plan)
    assert overlap["patients_under_two_sources"] == 0 and overlap["real_and_generator"] == 0
    assert {row["patients"] for row in cell_table(plan)} <= set(range(15, 26))


@dataclass(frozen=True)
class Box:
    image: str
    finding: str
    x: float = 400
    y: float = 400
    w: float = 100
    h: float = 100


def test_every_column_follows_the_pix2pix_pairs_view_mix():
    views = {}
    boxes, labels = [], {}
    for i in range(40):
        image = f"box_{i}.png"
        boxes.append(Box(image, "Effusion"))
        labels[image], views[image] = ("Effusion",), "PA" if i % 2 else "AP"
    for i in range(10):
        image = f"real_{i}.png"
        labels[image], views[image] = ("Effusion",), "PA" if i < 5 else "AP"
    healthy = [f"h_{i}.png" for i in range(20)]
    labels.update({h: ("No Finding",) for h in healthy})
    views.update({h: "PA" if i % 2 else "AP" for i, h in enumerate(healthy)})
    empty = frozenset()
    inputs = SelectionInputs(boxes, labels, healthy, {"pix2pix": empty, "pix2pix-n": empty, "stargan": empty}, views)
    plan = plan_verification_set(inputs, ("Effusion",), 5, 0)
    pa = {source: _cells(plan)[(source, "Effusion")]["PA"] for source in (REAL, STARGAN, PIX2PIX, PIX2PIX_N)}
    assert len(set(pa.values())) == 1, pa


def test_a_box_mostly_in_the_crop_margin_is_never_an_origin():
    assert box_fraction_kept((0, 0, 100, 100), (1024, 1024), 16 / 256) == pytest.approx((36 / 100) ** 2)
    edge, inner = Box("edge.png", "Effusion", 0, 0, 100, 100), Box("inner.png", "Effusion")
    labels = {"edge.png": ("Effusion",), "inner.png": ("Effusion",), "r.png": ("Effusion",), "h.png": ("No Finding",)}
    empty = frozenset()
    inputs = SelectionInputs([edge, inner], labels, ["h.png"], {"pix2pix": empty, "pix2pix-n": empty,
                                                                 "stargan": empty}, crop_margin=16 / 256)
    plan = plan_verification_set(inputs, ("Effusion",), 1, 0, pairing="matched")
    assert {p.origin_image for p in plan if p.source == PIX2PIX} == {"inner.png"}
    with pytest.raises(GenerationError, match=r"1 boxes mostly in the crop margin\): short by 1"):
        plan_verification_set(inputs, ("Effusion",), 1, 0, pairing="disjoint")


# --- the command -----------------------------------------------------------------------------------------------------


def test_plan_command_prints_the_per_cell_table_as_json(capsys):
    assert main(["plan", "--data", str(NIH), "--json"]) == 0
    cells = json.loads(capsys.readouterr().out)["cells"]
    assert len(cells) == 24 and sum(c["origins"] for c in cells) == 600
    by_cell = {(c["source"], c["finding"]): c for c in cells}
    assert all(by_cell[(PIX2PIX, f)]["seen"] == by_cell[(PIX2PIX_N, f)]["seen"] for f in FINDINGS)


def test_plan_command_refuses_a_folder_without_the_csv_files(tmp_path, capsys):
    assert main(["plan", "--data", str(tmp_path)]) == 2
    assert "error: --data:" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_plan_command_names_the_cell_that_cannot_be_filled_on_equal_terms(capsys):
    assert main(["plan", "--data", str(NIH), "--per-cell", "70"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the plan cannot meet its constraints with these data:")
    for finding in ("Effusion", "Infiltration", "Pneumonia", "Pneumothorax"):  # each that falls short is named
        assert f"{finding} / Pix2Pix and Pix2Pix-N on equal terms: 70 each (disjoint pairing) needs 70 matched " \
               "pairs" in err
    assert "Atelectasis /" not in err and "Cardiomegaly /" not in err  # 180 and 146 boxes: enough pairs
    assert "Pneumonia / Real: 70 single-label any-view images" in err and err.count("short by") == 5


def test_plan_command_refuses_an_unknown_pairing(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["plan", "--data", str(NIH), "--pairing", "paired"])
    assert stopped.value.code == 2 and "invalid choice: 'paired'" in capsys.readouterr().err


def test_without_checkpoints_stargan_trains_on_the_image_level_set_and_its_origins_stay_unseen(real_inputs):
    assert len(real_inputs.train_images["stargan"]) == 90_889  # docs/training.md
    plan = plan_verification_set(real_inputs, FINDINGS, 25, 0)
    assert not any(p.seen for p in plan if p.source in (STARGAN, REAL))
    trained = set().union(*real_inputs.train_images.values())
    assert not {p.origin_image for p in plan if p.source in (STARGAN, REAL)} & trained
