"""Every figure the OR-DBM MRMC 2.51 software gives on the Van Dyke dataset (tests/data/vandyke-reference.md,
copied from ../shared/mrmc-reference), reproduced to the digits it prints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.mrmc.analyse import analyse_imrmc
from analysis.mrmc.imrmc import read_imrmc

DATA = Path(__file__).resolve().parent.parent / "data"


def agrees(value: float, printed: str) -> bool:
    """True when ``value`` rounds to the printed figure (half a unit in its last digit)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) <= 0.5 * 10**-decimals + 1e-12


def check(value: float, printed: str) -> None:
    assert agrees(value, printed), f"{value!r} does not print as {printed}"


@pytest.fixture(scope="module")
def data():
    return read_imrmc(DATA / "vandyke.imrmc")


@pytest.fixture(scope="module")
def result(data):
    return analyse_imrmc(data, covariance="jackknife")


def test_the_file_reads_as_two_modalities_five_readers_114_cases(data):
    assert data.modalities == ["0", "1"]
    assert data.readers == ["0", "1", "2", "3", "4"]
    assert (data.n_negative, data.n_positive) == (69, 45)
    assert data.scores.shape == (5, 2, 114) and not np.isnan(data.scores).any()


PER_READER_AUC = [("0.91964573", "0.94782609"), ("0.85877617", "0.90531401"), ("0.90386473", "0.92173913"),
                  ("0.97310789", "0.99935588"), ("0.82979066", "0.92995169")]


def test_each_readers_auc(result):
    for reader, printed in enumerate(PER_READER_AUC):
        for modality, figure in enumerate(printed):
            check(result.fom[reader, modality], figure)


def test_reader_averaged_auc_and_difference(result):
    check(result.reader_averaged[0], "0.89703704")
    check(result.reader_averaged[1], "0.94083736")
    check(result.reader_averaged[0] - result.reader_averaged[1], "-0.04380032")


def test_anova_and_variance_components(result):
    c = result.components
    check(c.ms_t, "0.00479617"), check(c.ms_r, "0.00383620"), check(c.ms_tr, "0.00055103")
    assert (c.df_t, c.df_r, c.df_tr) == (1, 4, 4)
    check(c.ms_r_per_modality[0], "0.00308263"), check(c.ms_r_per_modality[1], "0.00130460")
    check(c.var_r, "0.00153500"), check(c.var_tr, "0.00020040")
    check(c.cov1, "0.00034661"), check(c.cov2, "0.00034407"), check(c.cov3, "0.00023903")
    check(c.var_error, "0.00080229")


def test_rrrc(result):
    rrrc = result.rrrc
    check(rrrc.test.statistic, "4.46"), check(rrrc.test.df_den, "15.26"), check(rrrc.test.p_value, "0.0517")
    assert rrrc.test.df_num == 1
    check(result.components.ms_tr + 5 * max(result.components.cov2 - result.components.cov3, 0), "0.00107626")
    (difference,) = rrrc.differences
    assert (difference.first, difference.second) == ("0", "1")
    check(difference.difference, "-0.04380"), check(difference.se, "0.02075"), check(difference.df, "15.26")
    check(difference.statistic, "-2.11"), check(difference.p_value, "0.0517")
    check(difference.ci_low, "-0.08796"), check(difference.ci_high, "0.00036")
    first, second = rrrc.modalities
    check(first.estimate, "0.89703704"), check(first.se, "0.03317360"), check(first.df, "12.74")
    check(first.ci_low, "0.82522360"), check(first.ci_high, "0.96885048")
    check(result.components.cov2_per_modality[0], "0.00048396")
    check(second.estimate, "0.94083736"), check(second.se, "0.02156637"), check(second.df, "12.71")
    check(second.ci_low, "0.89413783"), check(second.ci_high, "0.98753689")
    check(result.components.cov2_per_modality[1], "0.00020419")


PER_READER_FRRC = [("-0.02818", "0.02551", "0.2693"), ("-0.04654", "0.02630", "0.0768"),
                   ("-0.01787", "0.03121", "0.5668"), ("-0.02625", "0.01729", "0.1290"),
                   ("-0.10016", "0.04406", "0.0230")]


def test_frrc(result):
    frrc = result.frrc
    assert frrc.test.name == "X2" and frrc.test.df_num == 1 and frrc.test.df_den is None
    check(frrc.test.statistic, "5.47595"), check(frrc.test.p_value, "0.0193")
    (difference,) = frrc.differences
    assert difference.df is None
    check(difference.se, "0.01872"), check(difference.statistic, "-2.34"), check(difference.p_value, "0.0193")
    check(difference.ci_low, "-0.08049"), check(difference.ci_high, "-0.00711")
    first, second = frrc.modalities
    check(first.se, "0.02428971"), check(first.ci_low, "0.84943008"), check(first.ci_high, "0.94464399")
    check(result.components.var_error_per_modality[0], "0.00101410")
    check(second.se, "0.01677632"), check(second.ci_low, "0.90795637"), check(second.ci_high, "0.97371835")
    check(result.components.var_error_per_modality[1], "0.00059047")
    assert [d.reader for d in frrc.reader_differences] == ["0", "1", "2", "3", "4"]
    for row, (estimate, se, p_value) in zip(frrc.reader_differences, PER_READER_FRRC, strict=True):
        check(row.difference, estimate), check(row.se, se), check(row.p_value, p_value)


def test_rrfc(result):
    rrfc = result.rrfc
    check(rrfc.test.statistic, "8.70"), check(rrfc.test.p_value, "0.0420")
    assert (rrfc.test.df_num, rrfc.test.df_den) == (1, 4)
    (difference,) = rrfc.differences
    check(difference.se, "0.01485"), check(difference.df, "4"), check(difference.statistic, "-2.95")
    check(difference.ci_low, "-0.08502"), check(difference.ci_high, "-0.00258")
    first, second = rrfc.modalities
    check(first.se, "0.02482994"), check(first.df, "4"), check(first.ci_low, "0.82809808")
    check(first.ci_high, "0.96597599")
    check(second.se, "0.01615303"), check(second.df, "4"), check(second.ci_low, "0.89598936")
    check(second.ci_high, "0.98568536")


def test_the_check_itself_rejects_a_figure_off_in_its_last_digit():
    assert agrees(0.0517, "0.0517") and agrees(0.05174, "0.0517")
    assert not agrees(0.05176, "0.0517")


def test_delong_covariance_is_close_to_the_jackknife_and_gives_the_same_aucs(data, result):
    """DeLong's estimate is the jackknife's without its (K - 1) / K-type inflation: a few percent smaller on 114
    cases; the AUCs and their ANOVA do not depend on the covariance."""
    delong = analyse_imrmc(data, covariance="delong")
    np.testing.assert_allclose(delong.fom, result.fom)
    assert delong.components.ms_t == result.components.ms_t
    assert 0.95 < delong.components.var_error / result.components.var_error < 1.0
    assert 0.95 < delong.components.cov2 / result.components.cov2 < 1.0
    assert 0.02 < delong.rrrc.test.p_value < 0.08
