"""The demo study's protocol: it asks readers to mark what gave a fake away (``names.DEMO_PROTOCOL``)."""
from __future__ import annotations

from readerstudy.reading.services import first_vote_at, protocol_for, settings_update
from readerstudy.studies.models import Study

from .names import DEMO_PROTOCOL


def demo_protocol_apply(study: Study, actor) -> None:
    """Set the demo's protocol, unless votes are in already (then the study keeps the protocol they were cast under)."""
    protocol = protocol_for(study)
    if all(getattr(protocol, field) == value for field, value in DEMO_PROTOCOL.items()):
        return
    if first_vote_at(study) is None:
        settings_update(study, actor, dict(DEMO_PROTOCOL))
