"""The protocol's results on the results page carry their intervals: each reader's intra-reader kappa and the readers'
mean; a staircase threshold only from 6 usable reversals (the first two dropped), with its interval, and the
readers' geometric mean per generator with an interval over readers."""
import pytest

from readerstudy.reading.models import RepeatVote, SequenceSlot, StaircaseTrack
from readerstudy.results.protocol_results import exposure_thresholds, intra_reader_summary
from readerstudy.results.services import results_page_context
from readerstudy.studies.models import Source
from tests.factories import cast_votes_fast, create_cases_fast


def repeat(membership, case, answer: str, position: int) -> None:
    slot = SequenceSlot(membership=membership, phase="study", position=position, case=case, is_repeat=True)
    slot.give_own_ids()
    slot.save()
    RepeatVote.objects.create(slot=slot, membership=membership, case=case, answer=answer)


def test_each_readers_intra_reader_kappa_and_the_mean_come_with_intervals(study_factory, reader_factory):
    study = study_factory("repeats", status="open")
    cases = create_cases_fast(study, "effusion", "real", 10) + create_cases_fast(study, "effusion", "pix2pix", 10)
    for flips in (2, 5):
        membership = reader_factory(study)
        firsts = ["real" if index % 2 else "fake" for index in range(len(cases))]
        cast_votes_fast(membership, list(zip(cases, firsts, strict=True)))
        for index, (case, first) in enumerate(zip(cases, firsts, strict=True)):
            flipped = {"real": "fake", "fake": "real"}[first] if index < flips else first
            repeat(membership, case, flipped, position=100 + index)
    summary = intra_reader_summary(study)
    steady, shaky = summary["rows"]
    for row in summary["rows"]:
        assert row["pairs"] == 20
        assert row["ci_low"] <= row["kappa"] <= row["ci_high"]
    assert steady["kappa"] > shaky["kappa"]
    mean = summary["mean"]
    assert mean["readers"] == 2 and mean["kappa"] == pytest.approx((steady["kappa"] + shaky["kappa"]) / 2, abs=1e-3)
    assert mean["ci_low"] <= mean["kappa"] <= mean["ci_high"]
    assert results_page_context(study)["intra_reader_mean"]["kappa"] == mean["kappa"]


def track(membership, source: str, reversals: list[int]) -> None:
    StaircaseTrack.objects.create(membership=membership, source=Source.objects.get(slug=source), level_ms=200,
                                  reversals=reversals, trials=4 * len(reversals))


def test_a_staircase_threshold_needs_six_usable_reversals_and_comes_with_an_interval(study_factory, reader_factory):
    study = study_factory("adaptive", status="open")
    first, second, third = reader_factory(study), reader_factory(study), reader_factory(study)
    approach = [1500, 900]  # dropped: the way down from the starting exposure
    track(first, "pix2pix", approach + [400, 250, 420, 260, 380, 240])  # 6 usable
    track(second, "pix2pix", approach + [500, 300, 520, 310, 480, 290, 500, 300])  # 8 usable
    track(third, "pix2pix", approach + [400, 250, 420, 260, 380])  # 5 usable: no threshold yet
    [row] = exposure_thresholds(study)
    readers = {reader["reader"]: reader for reader in row["readers"]}
    assert readers["R3"]["threshold_ms"] is None and readers["R3"]["ci_low"] is None
    for name in ("R1", "R2"):
        assert readers[name]["ci_low"] < readers[name]["threshold_ms"] < readers[name]["ci_high"]
    assert 240 < readers["R1"]["threshold_ms"] < 420
    assert row["readers_with_threshold"] == 2
    assert row["threshold_ms"] == pytest.approx((readers["R1"]["threshold_ms"] * readers["R2"]["threshold_ms"]) ** 0.5)
    assert row["ci_low"] < row["threshold_ms"] < row["ci_high"]


def test_one_readers_threshold_gives_a_generator_mean_without_an_interval_over_readers(study_factory, reader_factory):
    study = study_factory("adaptive", status="open")
    track(reader_factory(study), "stargan", [1500, 900, 120, 80, 130, 85, 125, 90])
    [row] = exposure_thresholds(study)
    assert row["threshold_ms"] is not None and row["ci_low"] is None and row["ci_high"] is None
