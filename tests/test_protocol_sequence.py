"""Saved, checkable randomisation: each reader's sequence is derived from their stored seed, frozen at first access,
re-derivable slot by slot, balanced per block when the study asks, and never reshuffled by cases added later."""
import csv
import io
import math
from collections import Counter

import pytest
from rest_framework.test import APIClient

from readerstudy.reading import sequence as derive
from readerstudy.reading.models import SequenceSlot, StudyProtocol
from readerstudy.reading.selectors import sequence_check
from readerstudy.reading.sequence import sequence_from_seed
from readerstudy.studies.models import Case, Finding
from tests.factories import create_cases_fast, sequence_case_ids

PAPER_FINDINGS = ["atelectasis", "cardiomegaly", "effusion", "infiltration", "pneumonia", "pneumothorax"]
PAPER_SOURCES = ["real", "pix2pix", "pix2pix-n", "stargan"]


def paper_study(study_factory, per_cell: int, **protocol):
    study = study_factory("paper", status="open")
    for finding in PAPER_FINDINGS:
        for source in PAPER_SOURCES:
            create_cases_fast(study, finding, source, per_cell)
    if protocol:
        StudyProtocol.objects.create(study=study, **protocol)
    return study


def staff_client(staff_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


def test_the_plain_protocol_keeps_the_seeded_shuffle(study_factory, reader_factory):
    study = paper_study(study_factory, per_cell=2)
    membership = reader_factory(study)
    ids = list(study.cases.values_list("pk", flat=True))
    assert sequence_case_ids(membership) == sequence_from_seed(ids, membership.order_seed)


def test_the_sequence_is_frozen_at_first_access_and_re_derives_from_the_seed(study_factory, reader_factory):
    study = paper_study(study_factory, per_cell=3, block_size=24, repeat_percent=10)
    membership = reader_factory(study)
    first = sequence_case_ids(membership)
    assert SequenceSlot.objects.filter(membership=membership).count() == len(first) == 72 + 7
    assert sequence_case_ids(membership) == first
    check = sequence_check(membership)
    assert check == {"reader": "R1", "slots": 79, "matches": True, "first_difference": None}


def test_the_check_finds_a_stored_order_that_was_tampered_with(study_factory, reader_factory):
    study = paper_study(study_factory, per_cell=1, block_size=8)
    membership = reader_factory(study)
    sequence_case_ids(membership)
    third, fourth = SequenceSlot.objects.filter(membership=membership).order_by("position")[2:4]
    SequenceSlot.objects.filter(pk=third.pk).update(position=10_000)
    SequenceSlot.objects.filter(pk=fourth.pk).update(position=3)
    SequenceSlot.objects.filter(pk=third.pk).update(position=4)
    assert sequence_check(membership)["first_difference"] == 3


def test_the_same_seed_gives_the_same_blocked_order_and_another_seed_another():
    cases = [derive.CaseKey(pk, source, finding) for pk, (source, finding) in
             enumerate([(s, f) for s in range(4) for f in range(6) for _ in range(5)], start=1)]
    assert derive.study_order(cases, 42, block_size=24) == derive.study_order(list(reversed(cases)), 42, block_size=24)
    assert derive.study_order(cases, 42, block_size=24) != derive.study_order(cases, 43, block_size=24)


def block_counts(membership):
    slots = (SequenceSlot.objects.filter(membership=membership, phase="study", is_repeat=False)
             .values_list("block", "case__source__slug", "case__finding__slug"))
    blocks = {}
    for block, source, finding in slots:
        entry = blocks.setdefault(block, {"size": 0, "source": Counter(), "finding": Counter(), "cell": Counter()})
        entry["size"] += 1
        entry["source"][source] += 1
        entry["finding"][finding] += 1
        entry["cell"][(source, finding)] += 1
    return blocks


def test_paper_blocks_of_24_hold_one_image_of_every_source_and_finding_pair(study_factory, reader_factory):
    study = paper_study(study_factory, per_cell=5, block_size=24)
    membership = reader_factory(study)
    sequence_case_ids(membership)
    blocks = block_counts(membership)
    assert len(blocks) == 5
    for entry in blocks.values():
        assert entry["size"] == 24
        assert set(entry["cell"].values()) == {1} and len(entry["cell"]) == 24
        assert set(entry["source"].values()) == {6} and set(entry["finding"].values()) == {4}


def test_uneven_blocks_give_each_source_and_cell_its_share_rounded_down_or_up(study_factory, reader_factory):
    study = study_factory("uneven", status="open")
    composition = {("real", "atelectasis"): 17, ("real", "effusion"): 9, ("pix2pix", "atelectasis"): 11,
                   ("pix2pix", "effusion"): 5, ("stargan", "cardiomegaly"): 13}
    for (source, finding), count in composition.items():
        create_cases_fast(study, finding, source, count)
    StudyProtocol.objects.create(study=study, block_size=10)
    membership = reader_factory(study)
    sequence_case_ids(membership)
    n = sum(composition.values())
    blocks = block_counts(membership)
    assert len(blocks) == math.ceil(n / 10)
    sizes = {entry["size"] for entry in blocks.values()}
    assert max(sizes) <= 10 and max(sizes) - min(sizes) <= 1
    source_totals = Counter()
    for (source, _), count in composition.items():
        source_totals[source] += count
    for entry in blocks.values():
        for source, total in source_totals.items():
            assert entry["source"][source] in (total // len(blocks), -(-total // len(blocks)))
        for cell, total in composition.items():
            assert entry["cell"][cell] in (total // len(blocks), -(-total // len(blocks)))


def test_cases_added_to_an_open_study_are_appended_without_reshuffling(study_factory, reader_factory):
    study = paper_study(study_factory, per_cell=1, block_size=6)
    membership = reader_factory(study)
    before = sequence_case_ids(membership)
    added = create_cases_fast(study, "effusion", "stargan", 5)
    after = sequence_case_ids(membership)
    assert after[:len(before)] == before
    assert sorted(after[len(before):]) == sorted(case.pk for case in added)
    assert sequence_check(membership)["matches"] is True


def test_repeats_come_after_their_first_showing_under_their_own_ids(study_factory, reader_factory):
    study = paper_study(study_factory, per_cell=2, repeat_percent=25)
    membership = reader_factory(study)
    order = sequence_case_ids(membership)
    repeats = list(SequenceSlot.objects.filter(membership=membership, is_repeat=True))
    assert len(repeats) == 12
    case_ids = set(Case.objects.values_list("public_id", flat=True))
    for slot in repeats:
        assert order.index(slot.case_id) < slot.position - 1
        assert slot.public_id not in case_ids and len(slot.public_id) == 16 and len(slot.image_token) == 22


def test_the_admin_exports_and_checks_every_readers_sequence(study_factory, reader_factory, staff_user):
    study = paper_study(study_factory, per_cell=1, block_size=12, repeat_percent=10)
    first, second = reader_factory(study), reader_factory(study)
    client = staff_client(staff_user)
    response = client.get("/api/studies/paper/sequences.csv?reader=R2")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert [int(row["position"]) for row in rows] == list(range(1, 27))
    assert {row["reader"] for row in rows} == {"R2"} and rows[0]["order_seed"] == str(second.order_seed)
    assert sum(row["repeat"] == "yes" for row in rows) == 2
    assert [Case.objects.get(public_id=row["case"]).pk for row in rows] == sequence_case_ids(second)  # ids unchanged
    checks = client.get("/api/studies/paper/sequences/check/").json()
    assert [(check["reader"], check["matches"]) for check in checks] == [("R1", True), ("R2", True)]
    page = APIClient()
    page.force_login(staff_user)
    html = page.get("/studies/paper/sequences/?reader=R1").content.decode()
    assert "identical" in html and str(first.order_seed) in html


def test_sequences_csv_neutralises_cells_that_start_like_a_formula(study_factory, reader_factory, staff_user):
    study = paper_study(study_factory, per_cell=1)
    Finding.objects.filter(pk=Case.objects.filter(study=study).first().finding_id).update(name="=HYPERLINK(1)")
    reader_factory(study)
    response = staff_client(staff_user).get("/api/studies/paper/sequences.csv")
    findings = [row["finding"] for row in csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))]
    assert "'=HYPERLINK(1)" in findings and "=HYPERLINK(1)" not in findings


@pytest.mark.parametrize("url", ["/api/studies/paper/sequences/", "/api/studies/paper/sequences.csv",
                                 "/studies/paper/sequences/"])
def test_a_reader_cannot_see_sequences(study_factory, reader_factory, url):
    study = paper_study(study_factory, per_cell=1)
    client = APIClient()
    client.force_login(reader_factory(study).user)
    assert client.get(url).status_code == 404


def _paired_cases(pairs: int, singles: int) -> list:
    """Pix2Pix (source 2) and Pix2Pix-N (source 3) cases sharing origin boxes, plus unrelated Real (source 0) cases."""
    cases, pk = [], 0
    for number in range(pairs):
        for source in (2, 3):
            pk += 1
            cases.append(derive.CaseKey(pk, source, number % 6, f"origin_{number:03d}.png"))
    for number in range(singles):
        pk += 1
        cases.append(derive.CaseKey(pk, 0, number % 6, f"real_{number:03d}.png"))
    return cases


def _closest_pair(order, cases) -> int:
    origin = {case.pk: case.origin for case in cases}
    seen: dict[str, int] = {}
    closest = len(order)
    for index, slot in enumerate(order):
        key = origin[slot.case_id]
        if key in seen:
            closest = min(closest, index - seen[key])
        seen[key] = index
    return closest


@pytest.mark.parametrize("block_size", [0, 24])
def test_the_two_cases_of_a_matched_pair_are_read_at_least_ten_images_apart(block_size):
    cases = _paired_cases(pairs=75, singles=150)
    for seed in range(20):
        order = derive.study_order(cases, seed, block_size=block_size)
        assert sorted(slot.case_id for slot in order) == [case.pk for case in cases]
        assert _closest_pair(order, cases) >= derive.pair_gap(len(cases)) == 10
        if block_size:  # every block keeps the sources and findings the balanced deal gave it
            cell = {case.pk: (case.source_id, case.finding_id) for case in cases}
            dealt = derive.blocked_order(cases, seed, block_size)
            assert Counter((s.block, cell[s.case_id]) for s in order) == Counter(
                (s.block, cell[s.case_id]) for s in dealt)


def test_a_study_without_shared_origins_keeps_its_order():
    cases = _paired_cases(pairs=0, singles=60)
    plain = [derive.CaseKey(case.pk, case.source_id, case.finding_id) for case in cases]
    assert derive.study_order(cases, 7, block_size=12) == derive.study_order(plain, 7, block_size=12)
