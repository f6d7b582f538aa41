"""Power and sample size (Hillis, Obuchowski & Berbaum 2011), checked against simulated studies, and the
mrmc_power command."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis.mrmc.power import PilotComponents, cases_needed, power, readers_needed
from analysis.mrmc.simulate import SimulationConfig, simulate_study
from analysis.mrmc.study import study_mrmc

VANDYKE = Path(__file__).resolve().parent.parent / "data" / "vandyke.imrmc"
VANDYKE_PILOT = PilotComponents(var_tr=0.00020040, var_error=0.00080229, cov1=0.00034661, cov2=0.00034407,
                                cov3=0.00023903, n_cases=114)


def test_the_reference_softwares_figures_for_the_van_dyke_pilot():
    """RJafroc (which implements Hillis, Obuchowski & Berbaum 2011) on the Van Dyke data with its observed effect:
    RRRC power 0.5526116 for 6 readers x 111 cases, and 251 cases for 80% power with 6 readers (power 0.801); the
    figures its own test suite holds it to."""
    from analysis.mrmc.analyse import analyse_imrmc
    from analysis.mrmc.imrmc import read_imrmc

    result = analyse_imrmc(read_imrmc(VANDYKE))
    pilot = PilotComponents.from_components(result.components, n_cases=114)
    effect = abs(result.reader_averaged[0] - result.reader_averaged[1])
    assert power(pilot, readers=6, cases=111, effect_size=effect).power == pytest.approx(0.5526116, abs=5e-8)
    needed = cases_needed(pilot, readers=6, effect_size=effect)
    assert needed.cases == 251 and round(needed.power, 3) == 0.801


def test_no_effect_has_the_power_of_alpha_and_power_grows_with_readers_and_cases():
    for analysis in ("RRRC", "FRRC", "RRFC"):
        assert power(VANDYKE_PILOT, readers=5, cases=114, effect_size=0.0, analysis=analysis).power == \
            pytest.approx(0.05)
    by_cases = [power(VANDYKE_PILOT, readers=5, cases=k, effect_size=0.05).power for k in (50, 100, 200, 400)]
    by_readers = [power(VANDYKE_PILOT, readers=j, cases=114, effect_size=0.05).power for j in (4, 6, 10, 20)]
    assert by_cases == sorted(by_cases) and by_readers == sorted(by_readers)


def test_the_sample_size_is_the_smallest_that_reaches_the_target():
    found = cases_needed(VANDYKE_PILOT, readers=10, effect_size=0.05)
    assert found.power >= 0.8
    assert power(VANDYKE_PILOT, readers=10, cases=found.cases - 1, effect_size=0.05).power < 0.8
    readers = readers_needed(VANDYKE_PILOT, cases=200, effect_size=0.05)
    assert readers.power >= 0.8
    assert power(VANDYKE_PILOT, readers=readers.readers - 1, cases=200, effect_size=0.05).power < 0.8


def test_reader_variability_sets_a_ceiling_that_no_number_of_cases_passes():
    """With random readers and Var(T*R) > 0, infinitely many cases still leave the reader term: with 3 readers an
    effect of 0.05 never reaches 80% power on the Van Dyke components."""
    assert cases_needed(VANDYKE_PILOT, readers=3, effect_size=0.05) is None
    assert cases_needed(VANDYKE_PILOT, readers=3, effect_size=0.05, analysis="FRRC") is not None


def _simulated_auc_runs(config: SimulationConfig, studies: int, seed: int):
    components, differences, rejections = [], [], []
    for index in range(studies):
        study = simulate_study(config, [seed, index])
        result = study_mrmc(study.reader, study.case, study.source, study.called_real, study.fake_score,
                            readers=study.readers, sources=config.sources, source_is_real=config.source_is_real).auc
        c = result.components
        components.append([c.var_tr, c.var_error, c.cov1, c.cov2, c.cov3])
        differences.append(result.rrrc.differences[0].difference)
        rejections.append(result.rrrc.differences[0].p_value < 0.05)
    return np.mean(components, axis=0), float(np.mean(differences)), float(np.mean(rejections))


def test_predicted_power_matches_simulated_studies_and_extrapolates_to_more_readers_and_cases():
    """Components and effect from pilot-sized simulated studies (5 readers, 160 cases) predict the RRRC rejection
    rate of those studies and of studies with 8 readers and twice the cases (same case mix)."""
    pilot_config = SimulationConfig(n_readers=5, n_real=60, n_fake=50, separations=(0.5, 0.9))
    components, effect, pilot_rejections = _simulated_auc_runs(pilot_config, 200, seed=1)
    pilot = PilotComponents(*components, n_cases=160)
    assert power(pilot, readers=5, cases=160, effect_size=effect).power == pytest.approx(pilot_rejections, abs=0.08)
    planned = SimulationConfig(n_readers=8, n_real=120, n_fake=100, separations=(0.5, 0.9))
    _, _, planned_rejections = _simulated_auc_runs(planned, 200, seed=2)
    predicted = power(pilot, readers=8, cases=320, effect_size=effect).power
    assert predicted == pytest.approx(planned_rejections, abs=0.08)
    assert planned_rejections > pilot_rejections + 0.15


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("mrmc_power", *args, stdout=out)
    return out.getvalue()


def test_command_from_a_pilot_file_gives_power_and_what_is_needed():
    text = run(str(VANDYKE), "--effect", "0.05", "--readers", "5", "--cases", "100")
    assert "5 readers x 100 cases: power 0.573" in text
    assert "Readers needed with 100 cases for 80% power: 16" in text
    document = json.loads(run(str(VANDYKE), "--effect", "0.05", "--readers", "10", "--json"))
    row = next(row for row in document["cases_needed"] if row["readers"] == 10)
    assert row == {"readers": 10, "cases": cases_needed(VANDYKE_PILOT, readers=10, effect_size=0.05).cases,
                   "power": pytest.approx(0.8, abs=0.01)}


def test_command_from_numbers_matches_the_file():
    numbers = ["--var-tr", "0.00020040", "--var-error", "0.00080229", "--cov1", "0.00034661", "--cov2", "0.00034407",
               "--cov3", "0.00023903", "--pilot-cases", "114"]
    from_numbers = json.loads(run(*numbers, "--effect", "0.05", "--readers", "5", "--cases", "100", "--json"))
    from_file = json.loads(run(str(VANDYKE), "--effect", "0.05", "--readers", "5", "--cases", "100", "--json"))
    assert from_numbers["power"]["power"] == pytest.approx(from_file["power"]["power"], abs=1e-5)


@pytest.mark.parametrize("args, message", [
    (["--effect", "0.05", "--var-tr", "0.0002"], "missing --var-error"),
    ([str(VANDYKE), "--effect", "0.05", "--cov1", "0.1"], "not both"),
    ([str(VANDYKE), "--effect", "0"], "must not be 0"),
    ([str(VANDYKE), "--effect", "0.05", "--readers", "1"], "at least 2"),
    (["/nonexistent.imrmc", "--effect", "0.05"], "no such file"),
])
def test_command_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
