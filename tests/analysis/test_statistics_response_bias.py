"""The statistics report keeps discrimination apart from response bias: d' and c beside accuracy, chance tests only
on balanced cells, a balanced HYPE-infinity whose pooled interval resamples readers and cases, PABAK beside kappa."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import statistics as st

PAPER = st.Layout(readers=["R1", "R2"], findings=["Effusion"], sources=["Real", "Pix2Pix", "StarGAN", "CycleGAN"],
                  source_is_real=[True, False, False, False])


def paper_votes(answers_by_reader) -> st.Votes:
    """25 real images and 25 of each of three generators (the paper's 3:1 mix); answers True for "real"."""
    sources = [0] * 25 + [1] * 25 + [2] * 25 + [3] * 25
    return st.Votes.from_columns(
        reader=[r for r, answers in enumerate(answers_by_reader) for _ in answers],
        case=[case for answers in answers_by_reader for case in range(len(answers))],
        finding=[0] * 100 * len(answers_by_reader), source=sources * len(answers_by_reader),
        called_real=[answer for answers in answers_by_reader for answer in answers])


def cell(cells, **wanted):
    (match,) = [c for c in cells if all(c[key] == value for key, value in wanted.items())]
    return match


def test_an_always_fake_reader_gets_d_prime_zero_and_no_chance_test_on_the_unbalanced_mix():
    report = st.study_statistics(paper_votes([[False] * 100, [True] * 25 + [False] * 75]), PAPER, resamples=200)
    always_fake = cell(report["detection"], reader="R1", finding="All", generator="All")
    assert always_fake["accuracy"] == 0.75
    assert always_fake["balanced"] is False and always_fake["p_value_vs_chance"] is None
    assert always_fake["d_prime"] == 0.0 and always_fake["criterion"] < -2
    perfect = cell(report["detection"], reader="R2", finding="All", generator="All")
    assert perfect["d_prime"] > 4 and perfect["criterion"] == pytest.approx(0.0, abs=0.3)
    per_generator = cell(report["detection"], reader="R1", finding="All", generator="Pix2Pix")
    assert per_generator["balanced"] is True and per_generator["p_value_vs_chance"] == pytest.approx(1.0)
    assert cell(report["called_real"], reader="R1", finding="All", source="Real")["p_value_vs_chance"] is None


def test_hype_is_balanced_so_an_always_fake_reader_scores_one_half_whatever_the_mix():
    report = st.study_statistics(paper_votes([[False] * 100, [False] * 100]), PAPER, resamples=200)
    for reader in ("R1", "Pooled"):
        assert cell(report["hype_infinity"], reader=reader, generator="All")["error_rate"] == 0.5


def test_the_pooled_hype_interval_resamples_readers_as_well_as_cases():
    """Two readers at opposite extremes: one spots every fake, one none. Resampling readers makes the pooled interval
    span much of the range between them; votes treated as independent would make it narrow."""
    spotter = [True] * 25 + [False] * 75
    fooled = [True] * 100
    report = st.study_statistics(paper_votes([spotter, fooled]), PAPER, resamples=400)
    pooled = cell(report["hype_infinity"], reader="Pooled", generator="All")
    assert pooled["error_rate"] == pytest.approx(0.25)
    assert pooled["ci_high"] - pooled["ci_low"] > 0.4
    one = cell(report["hype_infinity"], reader="R1", generator="All")
    assert (one["error_rate"], one["ci_low"], one["ci_high"]) == (0.0, 0.0, 0.0)


def test_agreement_reports_pabak_and_specific_agreement_beside_kappa():
    rng = np.random.default_rng(2)
    first = rng.random(100) < 0.1
    second = np.where(rng.random(100) < 0.9, first, ~first)
    report = st.study_statistics(paper_votes([list(first), list(second)]), PAPER, resamples=300)
    overall = report["agreement"]["overall"]
    observed = np.mean(first == second)
    assert overall["pabak"]["estimate"] == pytest.approx(2 * observed - 1)
    assert overall["pabak"]["ci_low"] <= overall["pabak"]["estimate"] <= overall["pabak"]["ci_high"]
    assert overall["positive_agreement"]["estimate"] > overall["negative_agreement"]["estimate"]
