"""The outside probe's attacks on blinding, played by a script through the reader's own API.

1. Exposure: in an adaptive study a script answers at random, collects every exposure it can see with the position
   it belongs to, and groups positions by exposure (a real image used to ride the staircase of generator
   ``position % G``, a fake its own generator's). It must do no better than the base rate.
2. Read-ahead: a script asks for every position of its sequence before answering it; it must learn nothing about
   images it has not been shown (no URL, no exposure), and an image must not stay fetchable after its exposure.
3. Correctness from exposures (issue 29): a script watches the exposures that follow each answer; a staircase that
   moved right after an answer named whether it was right (AUC 0.90). It must do no better than chance.
"""
from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from rest_framework.test import APIClient
from sklearn.metrics import roc_auc_score

from readerstudy.reading import lifecycle, services, state
from readerstudy.studies.models import AuditEntry, Case, Membership
from tests.factories import create_cases_fast

GENERATORS = ("stargan", "pix2pix", "pix2pix-n")
PER_SOURCE = 150  # 600 cases: 150 real, 150 from each of three generators
RANDOM_ANSWERS_FIRST = 40


def bootstrap_auc_interval(truth: list[int], score: list[float], level: float = 0.99,
                           resamples: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """(AUC, lower, upper): a percentile bootstrap interval over cases."""
    truth_array, score_array = np.asarray(truth), np.asarray(score, dtype=float)
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(resamples):
        pick = rng.integers(0, len(truth_array), len(truth_array))
        if truth_array[pick].min() == truth_array[pick].max():
            continue
        estimates.append(roc_auc_score(truth_array[pick], score_array[pick]))
    tail = (1 - level) / 2 * 100
    return (roc_auc_score(truth_array, score_array), float(np.percentile(estimates, tail)),
            float(np.percentile(estimates, 100 - tail)))


def grouping_attack(exposure_by_position: dict[int, int], generators: int) -> dict[int, float]:
    """The probe's grouping, as a fake-score per position. Real images used to share their class's track (positions
    ``p % G``), so in each class they pile up on one exposure, while fakes spread over the classes evenly: a position
    whose (class, exposure) group is larger than that exposure's average over the classes is likely real."""
    per_group = Counter((position % generators, level) for position, level in exposure_by_position.items())
    per_level = Counter(exposure_by_position.values())
    return {position: -per_group[(position % generators, level)] / (per_level[level] / generators)
            for position, level in exposure_by_position.items()}


@pytest.fixture
def adaptive_study(study_factory, reader_factory, staff_user):
    study = study_factory("paper", status="draft")  # going back is refused with adaptive exposure (issue 29)
    for source in ("real", *GENERATORS):
        create_cases_fast(study, "effusion", source, PER_SOURCE)
    services.settings_update(study, staff_user, {"exposure_mode": "adaptive", "exposure_ms": 1000})
    lifecycle.study_transition(study, staff_user, "open")
    membership = reader_factory(study)
    membership.order_seed = 4_242_424_242
    membership.save(update_fields=["order_seed"])
    client = APIClient()
    client.force_login(membership.user)
    return study, client


def read_at_random(client: APIClient, rng: random.Random, limit: int | None, seen: dict[int, tuple]) -> None:
    """next -> random answer, ``limit`` times (or to the end); records (case, exposure) per position as shown."""
    answered = 0
    while limit is None or answered < limit:
        response = client.get("/api/studies/paper/next/")
        if response.status_code == 204:
            return
        body = response.json()
        seen.setdefault(body["position"], (body["case"], body["exposure_ms"]))
        client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": rng.choice(["real", "fake"])},
                    format="json")
        answered += 1


def test_grouping_positions_by_exposure_does_no_better_than_the_base_rate(adaptive_study):
    """Random answers, then every position the API will describe, then reading on to the end: the exposure and
    position of every image, grouped as the probe did, do not tell real from fake (99% interval holds 0.5), on a
    study with three generators and 600 cases."""
    study, client = adaptive_study
    rng = random.Random(12)
    shown: dict[int, tuple] = {}
    read_at_random(client, rng, RANDOM_ANSWERS_FIRST, shown)
    snapshot: dict[int, tuple] = {}  # what a script reads at one moment, ahead of the reader
    for position in range(1, 4 * PER_SOURCE + 1):
        response = client.get(f"/api/studies/paper/sequence/{position}/")
        if response.status_code == 200 and response.json().get("exposure_ms") is not None:
            body = response.json()
            snapshot[position] = (body["case"], body["exposure_ms"])
    read_at_random(client, rng, None, shown)
    observed = {**shown, **snapshot}
    is_fake = dict(Case.objects.filter(study=study).values_list("public_id", "source__is_real"))
    positions = sorted(observed)
    truth = [int(not is_fake[observed[p][0]]) for p in positions]

    grouped = grouping_attack({p: observed[p][1] for p in positions}, len(GENERATORS))
    for score in ([grouped[p] for p in positions], [observed[p][1] for p in positions]):
        auc, lower, upper = bootstrap_auc_interval(truth, score)
        assert lower <= 0.5 <= upper, f"exposure tells fakes apart: AUC {auc:.3f} [{lower:.3f}, {upper:.3f}]"


def test_every_staircase_lane_holds_the_studys_share_of_real_images(adaptive_study):
    """Each generator runs five interleaved lanes here (600 images, about 40 trials a lane); within every lane the
    share of real images is the study's (a quarter: 10 real images of 40)."""
    study, _client = adaptive_study
    membership = Membership.objects.get(study=study)
    tracks = state.case_tracks(membership)
    real = set(Case.objects.filter(study=study, source__is_real=True).values_list("pk", flat=True))
    per_lane = Counter(tracks[pk] for pk in real)
    assert sorted(per_lane.values()) == [10] * 15
    assert Counter(tracks.values()) == dict.fromkeys(per_lane, 40)
    assert len({generator for generator, _lane in tracks.values()}) == len(GENERATORS)


def follow_attack(exposures: list[int], skip: int) -> list[float]:
    """The probe's attack, as a wrong-score per answer: the first exposure shown more than ``skip`` images later
    within one step (x or / 1.25) of this image's is taken for the same staircase; if it is longer, the answer moved
    it up (an error). ``skip`` 0 is the probe's; a script that knows the delay skips it."""
    logs, step = [math.log(value) for value in exposures], math.log(1.25) * 1.01
    scores = []
    for index, level in enumerate(logs):
        later = next((other for other in logs[index + 1 + skip:] if abs(other - level) <= step), level)
        scores.append(later - level)
    return scores


def test_the_exposures_that_follow_an_answer_do_not_tell_whether_it_was_right(adaptive_study):
    """A scripted reader right 70.7% of the time whatever it is shown (so whether an answer was right is independent
    of everything the script saw before it, and the staircases neither run away nor stall) watches every exposure.
    Taking the next exposure's change, or the probe's following of a staircase (also skipping the delay), scores
    errors no better than chance: each 99% bootstrap interval holds 0.5 (before issue 29: AUC 0.90)."""
    study, client = adaptive_study
    truth = dict(Case.objects.filter(study=study).values_list("public_id", "source__is_real"))
    rng = random.Random(29)
    exposures, wrong = [], []
    while (response := client.get("/api/studies/paper/next/")).status_code == 200:
        body = response.json()
        right = rng.random() < 1 / math.sqrt(2)
        says_real = truth[body["case"]] == right
        client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": "real" if says_real else "fake"},
                    format="json")
        exposures.append(body["exposure_ms"])
        wrong.append(int(not right))
    assert len(exposures) == 4 * PER_SOURCE and len(set(exposures)) > 5  # the staircases did move
    logs = [math.log(value) for value in exposures]
    attacks = {"next change": [after - now for now, after in zip(logs, [*logs[1:], logs[-1]], strict=True)],
               **{f"follow, skip {skip}": follow_attack(exposures, skip) for skip in (0, 7, 15, 22)}}
    results = {name: bootstrap_auc_interval(wrong, score) for name, score in attacks.items()}
    print({name: tuple(round(value, 3) for value in result) for name, result in results.items()})
    for name, (auc, lower, upper) in results.items():
        assert lower <= 0.5 <= upper, f"{name} tells errors apart: AUC {auc:.3f} [{lower:.3f}, {upper:.3f}]"


@pytest.fixture
def fixed_study(study_factory, reader_factory, case_factory, staff_user):
    def build(allow_going_back: bool, exposure_ms: int | None = None):
        study = study_factory("paper", status="draft", allow_vote_changes=allow_going_back)
        for source in ("real", "pix2pix") * 6:
            case_factory(study, finding="effusion", source=source)  # stored images: the fetches are real
        if exposure_ms:
            services.settings_update(study, staff_user, {"exposure_mode": "fixed", "exposure_ms": exposure_ms})
        lifecycle.study_transition(study, staff_user, "open")
        client = APIClient()
        client.force_login(reader_factory(study).user)
        return client

    return build


@pytest.mark.parametrize("allow_going_back", [False, True])
def test_a_script_cannot_read_its_sequence_ahead(fixed_study, allow_going_back):
    """After three answers, asking for every position yields nothing for the nine images not yet shown, and nothing
    at all where the study does not allow going back; the only image URLs a script ever held are those of the
    images it was shown and the one prefetch."""
    client = fixed_study(allow_going_back)
    urls_handed_out = []
    for _ in range(3):
        body = client.get("/api/studies/paper/next/").json()
        urls_handed_out += [body["image_url"], body["prefetch_image_url"]]
        client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": "real"}, format="json")
    answered = {1, 2, 3}
    described = {}
    for position in range(1, 13):
        response = client.get(f"/api/studies/paper/sequence/{position}/")
        if response.status_code == 200:
            described[position] = response.json()
            urls_handed_out.append(response.json()["image_url"])
    assert set(described) == (answered if allow_going_back else set())
    current = client.get("/api/studies/paper/next/").json()
    urls_handed_out += [current["image_url"], current["prefetch_image_url"]]
    fetchable = {url for url in urls_handed_out if client.get(url).status_code == 200}
    assert len(fetchable) <= 3 + 1 + 1 + (3 if allow_going_back else 0)  # shown, current, prefetch, revisits


def test_a_repeat_is_served_under_a_fresh_token(study_factory, reader_factory, staff_user):
    """A repeat's image comes under a token no earlier showing used (its pixels stay identical: the stimulus must
    not change, and docs/security.md says a script can still hash them)."""
    study = study_factory("paper", status="draft")
    create_cases_fast(study, "effusion", "real", 10)
    create_cases_fast(study, "effusion", "pix2pix", 10)
    services.settings_update(study, staff_user, {"repeat_percent": 50})
    lifecycle.study_transition(study, staff_user, "open")
    client = APIClient()
    client.force_login(reader_factory(study).user)
    urls = []
    while (response := client.get("/api/studies/paper/next/")).status_code == 200:
        body = response.json()
        urls.append(body["image_url"])
        client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": "fake"}, format="json")
    assert len(urls) == 30 and len(set(urls)) == 30


def test_a_timed_image_expires_after_its_exposure_and_a_late_fetch_is_audited(fixed_study, settings):
    import time_machine

    settings.IMAGE_GRACE_MS = 2000
    client = fixed_study(False, exposure_ms=500)
    with time_machine.travel(0, tick=False) as clock:
        clock.move_to("2026-12-01 10:00:00+00:00")
        body = client.get("/api/studies/paper/next/").json()
        assert client.get(body["image_url"]).status_code == 200
        clock.shift(2.6)  # 500 ms of exposure and 2 s of grace are over
        assert client.get(body["image_url"]).status_code == 404
    entry = AuditEntry.objects.get(action="image_fetch")
    assert "after its exposure" in entry.new_value


def test_fetching_an_image_after_answering_it_is_audited_once(fixed_study):
    """Nothing in the reading page fetches an answered image again (the browser has it): a script that does is
    written to the audit trail, once per showing, where the admin sees it."""
    client = fixed_study(False)
    body = client.get("/api/studies/paper/next/").json()
    assert client.get(body["image_url"]).status_code == 200
    client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": "real"}, format="json")
    assert not AuditEntry.objects.filter(action="image_fetch").exists()
    for _ in range(3):
        client.get(body["image_url"])
    entry = AuditEntry.objects.get(action="image_fetch")
    assert entry.new_value == "image fetched after it was answered" and entry.old_value == "study position 1"


def test_going_back_to_an_answered_image_is_a_showing_of_its_own_and_not_audited(fixed_study):
    client = fixed_study(True)
    body = client.get("/api/studies/paper/next/").json()
    client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": "real"}, format="json")
    back = client.get("/api/studies/paper/sequence/1/").json()
    assert back["image_url"] != body["image_url"] and back["prefetch_image_url"] is None
    assert client.get(back["image_url"]).status_code == 200
    assert not AuditEntry.objects.filter(action="image_fetch").exists()


def test_an_expired_timed_showing_is_not_issued_again(fixed_study, settings):
    """Asking for the next image after its exposure is over does not show it again under a fresh token (issue 29):
    the same, expired URL comes back marked ``exposure_over``, the reader answers without the image, and a script
    that fetches it anyway is refused and audited."""
    import time_machine

    settings.IMAGE_GRACE_MS = 2000
    client = fixed_study(False, exposure_ms=500)
    with time_machine.travel(0, tick=False) as clock:
        clock.move_to("2026-12-01 10:00:00+00:00")
        first = client.get("/api/studies/paper/next/").json()
        assert "exposure_over" not in first and client.get(first["image_url"]).status_code == 200
        clock.shift(2.6)
        again = [client.get("/api/studies/paper/next/").json() for _ in range(3)]
        assert {body["image_url"] for body in again} == {first["image_url"]}
        assert all(body["exposure_over"] and body["case"] == first["case"] for body in again)
        assert client.get(first["image_url"]).status_code == 404
        vote = client.post("/api/studies/paper/votes/", {"case": first["case"], "answer": "real"}, format="json")
        assert vote.status_code == 201
        following = client.get("/api/studies/paper/next/").json()
        assert following["case"] != first["case"] and "exposure_over" not in following
    assert AuditEntry.objects.get(action="image_fetch").new_value == "image fetched after its exposure"


def test_a_study_admin_fetching_a_readers_showing_is_audited(fixed_study, staff_user):
    """Staff fetching images outside their own showing are audited like readers (issue 29): an admin fetching a
    reader's showing, and fetching it after it was answered."""
    client = fixed_study(False)
    body = client.get("/api/studies/paper/next/").json()
    admin = APIClient()
    admin.force_login(staff_user)
    assert admin.get(body["image_url"]).status_code == 200
    entry = AuditEntry.objects.get(action="image_fetch")
    assert entry.actor == staff_user and "outside the reader's showing" in entry.new_value
