"""'Preview as a reader': the reading page on a study's first images, as a new reader would get them, with no vote
recorded anywhere but the admin's session.

The order is the one the protocol derives for a reader (``protocol.services.derived_slots``) from a fresh seed, so
blocks and the study's settings shape it as they would a reader's; practice images and repeats are left out. Images
are served by the readers' own blinded image view under the case's image URL, so the bytes and headers an admin
sees are the ones a reader receives.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.urls import reverse

from readerstudy.reading.models import Phase
from readerstudy.reading.services import case_keys, derived_slots, protocol_for
from readerstudy.studies.models import Case, Membership, Study

PREVIEW_IMAGES = 10


@dataclass(frozen=True)
class PreviewState:
    """What the admin's session keeps of a preview: the seed of its order and the answers given (position -> answer),
    which stay in the session and are never stored as votes."""

    seed: int
    answers: dict[str, str]

    @classmethod
    def fresh(cls) -> PreviewState:
        return cls(seed=secrets.randbits(62), answers={})

    @classmethod
    def from_session(cls, data) -> PreviewState | None:
        if not isinstance(data, dict) or not isinstance(data.get("seed"), int):
            return None
        answers = data.get("answers") if isinstance(data.get("answers"), dict) else {}
        return cls(seed=data["seed"], answers=dict(answers))

    def as_session(self) -> dict:
        return {"seed": self.seed, "answers": self.answers}


def session_key(study: Study) -> str:
    return f"preview:{study.pk}"


def preview_cases(study: Study, seed: int, count: int = PREVIEW_IMAGES) -> list[Case]:
    """The first ``count`` first showings of the order a reader with ``seed`` would read (excluded cases never
    among them: the derivation reads only included cases)."""
    reader = Membership(study=study, number=1, order_seed=seed)
    slots = derived_slots(reader, protocol_for(study), case_keys(study.pk))
    case_ids = [slot.case_id for slot in slots if slot.phase == Phase.STUDY and not slot.is_repeat][:count]
    cases = Case.objects.select_related("finding").in_bulk(case_ids)
    return [cases[pk] for pk in case_ids]


def _image_url(case: Case) -> str:
    return reverse("case_image", kwargs={"token": case.image_token})


def slot_payload(study: Study, cases: list[Case], state: PreviewState, index: int) -> dict:
    """The reading API's answer for the image at ``index``: the same fields a reader's page receives."""
    case = cases[index]
    following = next((later for position, later in enumerate(cases[index + 1:], start=index + 2)
                      if str(position) not in state.answers), None)
    payload = {
        "case": case.public_id,
        "image_url": _image_url(case),
        "position": index + 1,
        "total": len(cases),
        "answered": len(state.answers),
        "prefetch_image_url": _image_url(following) if following is not None else None,
    }
    if study.show_finding:
        payload["finding"] = case.finding.name
    protocol = protocol_for(study)
    if protocol.timed:
        payload["exposure_ms"] = protocol.exposure_ms  # a new reader's starting exposure
    return payload


def first_unanswered(cases: list[Case], state: PreviewState) -> int | None:
    return next((index for index in range(len(cases)) if str(index + 1) not in state.answers), None)


def record_answer(cases: list[Case], state: PreviewState, public_id: str, answer: str) -> PreviewState | None:
    """The state with ``answer`` noted for the preview's case ``public_id`` (None when it is not one of them)."""
    for position, case in enumerate(cases, start=1):
        if case.public_id == public_id:
            return PreviewState(seed=state.seed, answers={**state.answers, str(position): answer})
    return None
