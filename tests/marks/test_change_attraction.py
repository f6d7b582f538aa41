"""The change attraction: the share of marks on a StarGAN image's most-changed pixels against those pixels' share of
the image, on hand-built marks and by simulated readers with a known pull toward what StarGAN changed."""
import numpy as np
import pytest

from analysis.marks.changes import change_attraction, most_changed, on_mask
from analysis.marks.regions import CaseTruth, PixelKind, change_map
from analysis.marks.simulate import ChangeMarkingConfig, simulate_change_marks
from analysis.marks.statistics import MarkData


def test_the_most_changed_pixels_are_the_quarter_above_the_images_own_75th_percentile():
    origin = np.zeros((224, 224), dtype=np.uint8)
    fake = np.tile(np.arange(224, dtype=np.uint8), (224, 1))  # change grows from left to right
    mask = most_changed(change_map(fake, origin))
    assert mask.mean() == pytest.approx(0.25, abs=0.01)
    assert mask[:, -1].all() and not mask[:, :150].any()


def test_an_unchanged_image_has_no_most_changed_pixels_and_counts_for_nothing():
    same = np.full((224, 224), 90, dtype=np.uint8)
    assert not most_changed(change_map(same, same)).any()
    data = MarkData.build(n_readers=1, cases=[CaseTruth(PixelKind.ALL_GENERATED)], read_reader=[0], read_case=[0],
                          mark_read=[0], mark_x=[10.0], mark_y=[10.0])
    assert change_attraction(data, np.array([True]), [np.zeros((224, 224), bool)]).marks == 0


def test_a_mark_counts_on_the_pixel_that_holds_it():
    mask = np.zeros((224, 224), dtype=bool)
    mask[10, 20] = True
    assert on_mask(np.array([20.0, 20.99, 21.0, 223.9]), np.array([10.5, 10.0, 10.5, 223.9]), mask).tolist() == [
        True, True, False, False]


def test_the_ratio_is_the_share_on_changed_pixels_over_their_share_of_the_image():
    left_quarter = np.zeros((224, 224), dtype=bool)
    left_quarter[:, :56] = True
    cases = [CaseTruth(PixelKind.ALL_GENERATED), CaseTruth(PixelKind.ALL_GENERATED), CaseTruth(PixelKind.REAL)]
    reads = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    marks = [(0, 10, 10), (0, 150, 150), (1, 30, 200), (3, 40, 40), (4, 100, 100), (2, 5, 5)]
    data = MarkData.build(n_readers=2, cases=cases, read_reader=[r for r, _ in reads],
                          read_case=[k for _, k in reads], mark_read=[m[0] for m in marks],
                          mark_x=[m[1] for m in marks], mark_y=[m[2] for m in marks])
    # 5 marks on the two fakes, 3 on the left quarter: 0.6 against 0.25; the real image has no mask
    result = change_attraction(data, np.array([True, True, True]), [left_quarter, left_quarter, None],
                               resamples=200)
    assert (result.marks, result.images) == (5, 2)
    assert result.share_on == pytest.approx(0.6) and result.area_share == pytest.approx(0.25)
    assert result.ratio.estimate == pytest.approx(2.4)


@pytest.mark.parametrize("true_ratio", [1.0, 2.0])
def test_simulated_readers_drawn_to_what_stargan_changed_are_recovered_with_near_nominal_coverage(true_ratio):
    config = ChangeMarkingConfig(readers=5, fakes=30, true_ratio=true_ratio)
    estimates, covered = [], []
    for seed in range(30):
        simulated = simulate_change_marks(config, seed)
        ratio = change_attraction(simulated.data, np.ones(config.fakes, dtype=bool), simulated.masks, resamples=400,
                                  seed=seed).ratio
        estimates.append(ratio.estimate)
        covered.append(ratio.low <= true_ratio <= ratio.high)
    assert abs(np.mean(estimates) - true_ratio) < 0.08 * true_ratio
    assert np.mean(covered) >= 0.85
