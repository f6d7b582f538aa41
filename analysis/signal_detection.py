"""Discrimination apart from response bias: signal-detection d' and criterion c.

Accuracy mixes two things: how well a reader tells fakes from real images (discrimination) and how readily they say
"fake" (response bias). On the paper's design (three generated images for each real one) a reader who answers "fake"
to everything is right 75% of the time, and a binomial test against 0.5 calls that p < 1e-30. Signal detection keeps
them apart: with the hit rate H (fakes called fake) and the false-alarm rate F (real images called fake),

    d' = z(H) - z(F)            (0: no discrimination, whatever the bias)
    c  = -(z(H) + z(F)) / 2     (negative: leans to "fake", positive: leans to "real")

z the standard normal quantile. **Rates of 0 or 1** (z infinite) are replaced by 1/(2N) and 1 - 1/(2N), with N the
reader's number of votes on real and fake images **together** (Macmillan & Kaplan's 1/(2n) rule, with one n for both
rates): the same correction for H and F, so a reader whose answers do not depend on the image (H = F, the always-
"fake" reader included) gets d' = 0 exactly, whatever the real/fake mix. Per-class n would give that reader d' = 0.42
on the paper's 3:1 design.

Accuracy is tested against chance (0.5) only where real and fake votes are balanced (``balanced``): otherwise chance
is not 0.5 and response bias alone beats it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri


@dataclass(frozen=True)
class SignalDetection:
    """Arrays of the same shape as the counts given."""

    d_prime: np.ndarray
    criterion: np.ndarray
    hit_rate: np.ndarray  # after the correction
    false_alarm_rate: np.ndarray
    corrected: np.ndarray  # bool: a rate of 0 or 1 was replaced


def signal_detection(hits, n_fake, false_alarms, n_real) -> SignalDetection:
    """d' and c from counts (any matching shapes): ``hits`` fakes called fake of ``n_fake``, ``false_alarms`` real
    images called fake of ``n_real``; nan where either class has no vote."""
    hits, n_fake = np.asarray(hits, dtype=float), np.asarray(n_fake, dtype=float)
    false_alarms, n_real = np.asarray(false_alarms, dtype=float), np.asarray(n_real, dtype=float)
    valid = (n_fake > 0) & (n_real > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        hit_rate = np.where(valid, hits / np.where(n_fake > 0, n_fake, 1), np.nan)
        false_alarm_rate = np.where(valid, false_alarms / np.where(n_real > 0, n_real, 1), np.nan)
        floor = 1 / (2 * (n_fake + n_real))
    corrected = valid & ((hit_rate <= 0) | (hit_rate >= 1) | (false_alarm_rate <= 0) | (false_alarm_rate >= 1))
    hit_rate = np.clip(hit_rate, floor, 1 - floor)
    false_alarm_rate = np.clip(false_alarm_rate, floor, 1 - floor)
    z_hit, z_false_alarm = ndtri(hit_rate), ndtri(false_alarm_rate)
    return SignalDetection(d_prime=z_hit - z_false_alarm, criterion=-(z_hit + z_false_alarm) / 2,
                           hit_rate=hit_rate, false_alarm_rate=false_alarm_rate, corrected=corrected)


def balanced(n_real, n_fake) -> np.ndarray:
    """Where accuracy may be tested against 0.5: as many real as fake votes."""
    return np.asarray(n_real) == np.asarray(n_fake)
