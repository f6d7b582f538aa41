"""One error shape for the whole API, whatever raised the error: ``{"detail": ..., "errors": {field: [...]}, ...extra}``
with the status the error carries (``readerstudy.errors.ApplicationError``) or DRF's own."""
import json

import pytest
from rest_framework import exceptions

from readerstudy.batches.services import BatchRejected
from readerstudy.errors import ApplicationError, Conflict, NotFound, json_refusal
from readerstudy.reading.services import ProtocolError, SettingsFrozen, TransitionRefused
from readerstudy.reading.votes import CaseNotInStudy, ConfidenceRequired, ReasonError, VoteConflict
from readerstudy.studies.api_errors import exception_handler
from readerstudy.studies.services import InvitationError, LastAdmin, StudyStateError


def answer(error):
    response = exception_handler(error, {})
    return response.status_code, response.data


@pytest.mark.parametrize(("error", "status", "field"), [
    (ApplicationError("Refused."), 400, "non_field_errors"),
    (NotFound("No such thing.", "thing"), 404, "thing"),
    (Conflict("Not now.", "study"), 409, "study"),
    (ApplicationError("Not yours.", "position", status_code=403), 403, "position"),
    (StudyStateError("The study is closed."), 409, "study"),
    (StudyStateError("No cases.", "cases"), 409, "cases"),
    (LastAdmin("The last admin."), 409, "username"),
    (InvitationError("Used.", "token"), 400, "token"),
    (ProtocolError("Too big.", "block_size"), 400, "block_size"),
    (SettingsFrozen("Frozen.", "block_size"), 409, "block_size"),
    (TransitionRefused("Cannot.", "status"), 409, "status"),
    (ConfidenceRequired(), 400, "confidence"),
    (CaseNotInStudy("xyz"), 400, "case"),
    (ReasonError("Not asked.", "cues"), 400, "cues"),
])
def test_each_domain_error_answers_with_its_status_and_names_its_field(error, status, field):
    assert answer(error) == (status, {"detail": error.message, "errors": {field: [error.message]}})


def test_a_vote_conflict_carries_the_stored_vote():
    stored = {"case": "abc", "answer": "real", "confidence": None, "time_ms": None, "position": 3,
              "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"}
    status, data = answer(VoteConflict(stored))
    assert status == 409
    assert data == {"detail": "You have already voted on this case; votes in this study are final.",
                    "errors": {"answer": ["You have already voted on this case; votes in this study are final."]},
                    "vote": stored}


def test_a_rejected_batch_lists_every_error_under_archive():
    error = BatchRejected("The zip is not valid.", [{"file": "manifest.csv", "row": 3, "message": "bad source"}])
    assert answer(error) == (400, {"detail": "The zip is not valid.",
                                   "errors": {"archive": ["The zip is not valid.", "manifest.csv row 3: bad source"]}})


def test_drf_errors_keep_the_same_shape():
    assert answer(exceptions.ValidationError({"answer": ["Not a valid choice."]})) == (
        400, {"detail": "Invalid input: answer.", "errors": {"answer": ["Not a valid choice."]}})
    assert answer(exceptions.ParseError("JSON parse error.")) == (
        400, {"detail": "JSON parse error.", "errors": {"body": ["JSON parse error."]}})
    assert answer(exceptions.NotFound("Not found.")) == (404, {"detail": "Not found.", "errors": {}})


def test_outside_drf_the_answer_is_the_same():
    response = json_refusal(NotFound("Position must be between 1 and 5.", "position"))
    assert response.status_code == 404
    assert json.loads(response.content) == {"detail": "Position must be between 1 and 5.",
                                            "errors": {"position": ["Position must be between 1 and 5."]}}
