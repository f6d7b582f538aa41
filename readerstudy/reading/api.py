"""The reading REST API: for readers (through their membership; non-members get 404) the next image, going back,
progress and votes; for the study's admins (anyone else gets 404) the protocol settings, the lifecycle, sequences and
their check, the cue list, the practice pool, readers' progress and resetting a reader.

Nothing here ever names a case's source or truth to a reader; the finding name appears only when the study says so.
Refusals are the services' ``ApplicationError``s, answered by the one exception handler."""
from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.errors import ApplicationError, NotFound
from readerstudy.negotiation import DownloadNegotiation
from readerstudy.parsers import BoundedFormParser, BoundedJSONParser, BoundedMultiPartParser
from readerstudy.studies import api as study_api
from readerstudy.studies import services as study_services
from readerstudy.studies.auth import MAX_PASSWORD_LENGTH
from readerstudy.studies.models import Answer, Finding, Membership, Source, Study
from readerstudy.studies.permissions import may_administer
from readerstudy.studies.selectors import study_for_staff, usable_invitations
from readerstudy.studies.services import StudyStateError
from readerstudy.text import neutralise

from . import creation, lifecycle, monitoring, selectors, services, showings, votes
from . import state as state_module
from .models import MAX_MARKS_LIMIT, ExposureMode, MarksMode
from .state import reading_state

MAX_TIME_MS = 3_600_000  # an hour on one image is not a measurement; the database refuses more as well

def protocol_settings(study: Study) -> dict:
    protocol = services.protocol_for(study)
    data = {field: getattr(protocol, field) for field in services.PROTOCOL_FIELDS}
    data["repeat_percent"] = float(protocol.repeat_percent)
    data["staircase_factor"] = float(protocol.staircase_factor)
    data.update({field: getattr(study, field) for field in services.STUDY_FIELDS})
    data["status"] = study.status
    data["frozen"] = selectors.frozen_reason(study)
    return data


class StudyProtocolApi(APIView):
    """Read or change a study's settings. Result-shaping ones are refused (409) once the first vote is cast."""

    class InputSerializer(serializers.Serializer):
        block_size = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
        repeat_percent = serializers.DecimalField(required=False, max_digits=7, decimal_places=2)
        practice_count = serializers.IntegerField(required=False, min_value=0, max_value=100)
        practice_feedback = serializers.BooleanField(required=False)
        exposure_mode = serializers.ChoiceField(required=False, choices=ExposureMode.values)
        exposure_ms = serializers.IntegerField(required=False, allow_null=True, min_value=-(2**31),
                                               max_value=2**31 - 1)
        staircase_down = serializers.IntegerField(required=False, min_value=1, max_value=10)
        staircase_factor = serializers.DecimalField(required=False, max_digits=4, decimal_places=2)
        ask_fake_reasons = serializers.BooleanField(required=False)
        marks_mode = serializers.ChoiceField(required=False, choices=MarksMode.values)
        max_marks = serializers.IntegerField(required=False, min_value=1, max_value=MAX_MARKS_LIMIT)
        allow_vote_changes = serializers.BooleanField(required=False)
        show_finding = serializers.BooleanField(required=False)
        show_progress = serializers.BooleanField(required=False)
        ask_confidence = serializers.BooleanField(required=False)
        show_own_score_when_closed = serializers.BooleanField(required=False)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, slug: str):
        return Response(protocol_settings(study_for_staff(request.user, slug)))

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT,
                                                       400: OpenApiResponse(description="Cannot be satisfied."),
                                                       409: OpenApiResponse(description="Frozen after a vote.")})
    def patch(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.settings_update(study, request.user, dict(serializer.validated_data))
        study.refresh_from_db()
        return Response(protocol_settings(study))


class StudyStatusApi(APIView):
    """Move a study through draft -> open <-> paused -> closed (409 naming what is wrong)."""

    class InputSerializer(serializers.Serializer):
        # A plain string checked here: a second "status" enum in the schema would collide with the studies' own.
        status = serializers.CharField(max_length=16, help_text="draft, open, paused or closed")

        def validate_status(self, value: str) -> str:
            if value not in Study.Status.values:
                raise serializers.ValidationError(f"status must be one of {', '.join(Study.Status.values)}.")
            return value

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lifecycle.study_transition(study, request.user, serializer.validated_data["status"])
        return Response({"slug": study.slug, "status": study.status})


class StudyOpenApi(APIView):
    """Study admins: open a study for reading, as ``status/`` with ``open`` does (the same checks, the same audit
    entry; 409 for a closed study, which stays closed, or one with nothing to compare)."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        lifecycle.study_transition(study, request.user, Study.Status.OPEN)
        return Response({"slug": study.slug, "status": study.status})


class SequenceRowSerializer(serializers.Serializer):
    study = serializers.CharField()
    reader = serializers.CharField()
    order_seed = serializers.IntegerField()
    phase = serializers.CharField()
    position = serializers.IntegerField()
    block = serializers.JSONField()
    segment = serializers.IntegerField()
    repeat = serializers.CharField(allow_blank=True)
    case = serializers.CharField()
    shown_as = serializers.CharField()
    finding = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    truth = serializers.CharField()
    answer = serializers.CharField(allow_blank=True)


class SequenceCheckSerializer(serializers.Serializer):
    reader = serializers.CharField()
    slots = serializers.IntegerField()
    matches = serializers.BooleanField(allow_null=True)
    first_difference = serializers.IntegerField(allow_null=True)


def _membership_or_400(study: Study, pseudonym: str | None) -> Membership | None:
    if not pseudonym:
        return None
    membership = Membership.objects.filter(study=study).with_pseudonym(pseudonym).first()
    if membership is None:
        raise ValidationError({"reader": [f"Study {study.slug!r} has no reader {pseudonym}."]})
    return membership


class StudySequencesApi(APIView):
    """Each reader's stored sequence (practice, then study slots) with the truth; ``?reader=R2`` for one."""

    @extend_schema(responses=SequenceRowSerializer(many=True))
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        membership = _membership_or_400(study, request.query_params.get("reader"))
        rows = selectors.sequence_rows(study, membership)
        return Response([dict(zip(selectors.SEQUENCE_COLUMNS, row, strict=True)) for row in rows])


class _Line:
    """A file-like target for ``csv.writer`` that hands back each line it is given."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(rows) -> Iterator[str]:
    writer = csv.writer(_Line(), lineterminator="\n")
    yield writer.writerow(selectors.SEQUENCE_COLUMNS)
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])


class StudySequencesCsvApi(APIView):
    content_negotiation_class = DownloadNegotiation

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        membership = _membership_or_400(study, request.query_params.get("reader"))
        response = StreamingHttpResponse(_csv_lines(selectors.sequence_rows(study, membership)),
                                         content_type="text/csv; charset=utf-8")
        suffix = f"-{membership.pseudonym}" if membership else ""
        response["Content-Disposition"] = f'attachment; filename="{study.slug}-sequences{suffix}.csv"'
        response["Cache-Control"] = "no-store"
        return response


class StudySequenceCheckApi(APIView):
    """Re-derive every reader's sequence from their seed and compare it with the stored one."""

    @extend_schema(responses=SequenceCheckSerializer(many=True))
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response(selectors.sequence_checks(study, list(Membership.objects.filter(study=study)
                                                              .order_by("number"))))


class StudyCuesApi(APIView):
    """The cues readers may tick after a Fake answer; PUT replaces the list (labels in order)."""

    class InputSerializer(serializers.Serializer):
        cues = serializers.ListField(child=serializers.CharField(max_length=80), max_length=40)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response({"cues": [{"id": cue.pk, "label": cue.label} for cue in study.fake_cues.all()]})

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def put(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cues = services.cues_update(study, request.user, serializer.validated_data["cues"])
        return Response({"cues": [{"id": cue.pk, "label": cue.label} for cue in cues]})


class StudyPracticeImagesApi(APIView):
    """Add a PNG to the practice pool (refused when it is also a study case)."""

    parser_classes = [BoundedMultiPartParser, BoundedFormParser, BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        image = serializers.FileField()
        source = serializers.SlugRelatedField(slug_field="slug", queryset=Source.objects.all())
        finding = serializers.SlugRelatedField(slug_field="slug", queryset=Finding.objects.all(), required=False)

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        png = services.practice_image_normalised(study, data["image"].read())
        image = services.practice_image_add(study, request.user, png_bytes=png, source=data["source"],
                                            finding=data.get("finding"))
        return Response({"id": image.pk, "source": image.source.name}, status=status.HTTP_201_CREATED)


class StudyReaderResetApi(APIView):
    """Reset a reader's session (practice answers, sequence, staircases): only before their first vote (409)."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, slug: str, pseudonym: str):
        study = study_for_staff(request.user, slug)
        membership = _membership_or_400(study, pseudonym)
        services.reader_reset(membership, request.user)
        return Response({"reader": membership.pseudonym, "reset": True})


# --- reading ------------------------------------------------------------------------------------------------------

class VoteSerializer(serializers.Serializer):
    case = serializers.CharField(source="case.public_id")
    answer = serializers.CharField()
    confidence = serializers.IntegerField(allow_null=True)
    time_ms = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CaseSerializer(serializers.Serializer):
    case = serializers.CharField()
    image_url = serializers.CharField()
    position = serializers.IntegerField(required=False, help_text="Left out when the study hides progress and does "
                                                                  "not allow going back.")
    total = serializers.IntegerField(required=False, help_text="Left out when the study hides progress.")
    answered = serializers.IntegerField(required=False, help_text="Left out when the study hides progress.")
    prefetch_image_url = serializers.CharField(allow_null=True)
    exposure_ms = serializers.IntegerField(required=False, help_text="Timed studies: how long to show the image.")
    exposure_over = serializers.BooleanField(required=False, help_text="Timed studies: the image was shown and its "
                                             "time is over; it is not shown again, answer without it.")
    finding = serializers.CharField(required=False)
    vote = serializers.DictField(allow_null=True, required=False)


class ProgressSerializer(serializers.Serializer):
    answered = serializers.IntegerField(required=False, help_text="Left out when the study hides progress.")
    total = serializers.IntegerField(required=False, help_text="Left out when the study hides progress.")
    done = serializers.BooleanField()


def _shown_case_id(slot) -> str:
    """The case id a reader sees for a slot: a first showing's is its case's own, a repeat's or a practice image's
    its slot's own, equally random id."""
    return slot.own_public_id or slot.case_public_id


def _slot_payload(reader: selectors.Reader, state, index: int, practice: bool = False, revisit_vote=None) -> dict:
    """The slot at ``index`` (of the practice block or of the study) under a token for this showing, with a token for
    the next unread image to prefetch, and the exposure when the study is timed: the staircase's now, or for an
    answered image the reader goes back to (``revisit_vote``) the exposure it was shown for, and no prefetch.

    Nothing is sent about any other position. Progress (``total``, ``answered``) is left out when the study hides
    it, and so is ``position`` unless the reader may go back (the page needs it for the Back button)."""
    slots = state.practice if practice else state.sequence
    slot = slots[index]
    following = None
    if revisit_vote is None:
        if practice:
            rest = [later for later in state.practice[index + 1:] if not state.is_answered(later)]
            following = rest[0] if rest else None
        if following is None:
            at = state.first_unread_index(0 if practice else index + 1)
            following = state.sequence[at] if at is not None else None
    membership, study, protocol = reader.membership, reader.study, reader.protocol
    case = None
    if not practice and (study.show_finding or protocol.timed):
        case = selectors.cases_by_pk([slot.case_id])[slot.case_id]
    exposure = None
    if protocol.timed:
        if revisit_vote is not None:
            exposure = revisit_vote.exposure_ms or protocol.exposure_ms
        else:
            track = None if practice else state_module.case_track(membership, protocol, case.pk)
            exposure = state_module.exposure_for(membership, protocol, track, None if practice else case.pk)
    urls = showings.showing_urls(membership, slot.pk, exposure, following.pk if following is not None else None,
                                 revisit=revisit_vote is not None)
    shown = slots if practice else state.sequence
    payload = {"case": _shown_case_id(slot), "image_url": urls.shown, "prefetch_image_url": urls.prefetch}
    if urls.over:
        payload["exposure_over"] = True
    if practice or study.show_progress:
        payload.update(position=index + 1, total=len(shown),
                       answered=sum(1 for one in shown if state.is_answered(one)) if practice else state.answered)
    elif services.going_back_allowed(study, protocol):
        payload["position"] = index + 1
    if practice:
        payload["practice"] = True
    elif study.show_finding:
        payload["finding"] = case.finding.name
    if exposure is not None:
        payload["exposure_ms"] = exposure
    return payload


def _not_open(study) -> StudyStateError:
    return StudyStateError(f"The study is {study.get_status_display().lower()}.")


class StudyNextApi(APIView):
    """The reader's first unread case in their own order, or 204 when every case is answered."""

    @extend_schema(responses={200: CaseSerializer, 204: OpenApiResponse(description="Every case is answered.")})
    def get(self, request, slug: str):
        reader = selectors.reader_for(request.user, slug)
        if not reader.study.is_open:
            raise _not_open(reader.study)
        state = reading_state(reader.membership, reader.protocol)
        practice_index = state.first_unread_practice()
        if practice_index is not None:
            return Response(_slot_payload(reader, state, practice_index, practice=True))
        index = state.first_unread_index()
        if index is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_slot_payload(reader, state, index))


class StudyPositionApi(APIView):
    """An answered position of the reader's sequence with the reader's own vote, for going back: only where the study
    allows going back, and never ahead of the reader (a script must not see images it has not been shown)."""

    @extend_schema(responses=CaseSerializer)
    def get(self, request, slug: str, position: int):
        reader = selectors.reader_for(request.user, slug)
        study = reader.study
        if not study.is_open:
            raise _not_open(study)
        if not services.going_back_allowed(study, reader.protocol):
            raise ApplicationError("This study does not let readers go back to earlier images.", "position",
                                   status_code=403)
        state = reading_state(reader.membership, reader.protocol)
        if not 1 <= position <= state.total or not state.is_answered(state.sequence[position - 1]):
            raise NotFound(f"Position {position} is not an image you have answered.", "position")
        vote = votes.stored_answer(reader.membership, state.sequence[position - 1])
        payload = _slot_payload(reader, state, position - 1, revisit_vote=vote)
        payload["vote"] = {"answer": vote.answer, "confidence": vote.confidence}
        return Response(payload)


class StudyProgressApi(APIView):
    @extend_schema(responses=ProgressSerializer)
    def get(self, request, slug: str):
        reader = selectors.reader_for(request.user, slug)
        progress = selectors.study_progress(reader.membership, reader.protocol)
        if not reader.study.show_progress:
            progress = {"done": progress["done"]}  # hidden from the reader: not merely in the page
        return Response(progress)


class MarkInputSerializer(serializers.Serializer):
    x = serializers.FloatField(help_text="In the 224 px image's pixels, 0 to under 224.")
    y = serializers.FloatField(help_text="In the 224 px image's pixels, 0 to under 224.")
    confidence = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)


class StudyVotesApi(APIView):
    """Cast a vote. Same vote again: 200 with the stored vote. Different answer: 409 unless changes are allowed."""

    class InputSerializer(serializers.Serializer):
        case = serializers.CharField(max_length=32)
        answer = serializers.ChoiceField(choices=Answer.values)
        confidence = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
        time_ms = serializers.IntegerField(min_value=0, max_value=MAX_TIME_MS, required=False, allow_null=True)
        cues = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                     max_length=50)
        note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
        marks = MarkInputSerializer(many=True, required=False, max_length=MAX_MARKS_LIMIT,
                                    help_text="Where the image gave itself away (studies that ask for marks).")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: VoteSerializer, 200: VoteSerializer,
            400: OpenApiResponse(description="Invalid input; `errors` names the field."),
            409: inline_serializer("VoteConflictResponse", {"detail": serializers.CharField(),
                                                            "errors": serializers.DictField(),
                                                            "vote": VoteSerializer()}),
        },
    )
    def post(self, request, slug: str):
        reader = selectors.reader_for(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        answered = votes.answer_cast(
            membership=reader.membership, protocol=reader.protocol, shown_id=data["case"], answer=data["answer"],
            confidence=data.get("confidence"), time_ms=data.get("time_ms"), cues=data.get("cues"),
            note=data.get("note"), marks=data.get("marks"))
        return Response(answered.payload, status=status.HTTP_201_CREATED if answered.created else status.HTTP_200_OK)


class StudyReadersApi(APIView):
    """Staff: list readers with their progress; add a reader (the account is created when it does not exist)."""

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
        password = serializers.CharField(required=False, allow_blank=False, write_only=True, min_length=8,
                                         max_length=MAX_PASSWORD_LENGTH)

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField(source="user.username")
        pseudonym = serializers.CharField()
        joined_at = serializers.DateTimeField()

    class ProgressRowSerializer(serializers.Serializer):
        pseudonym = serializers.CharField()
        username = serializers.CharField()
        answered = serializers.IntegerField()
        total = serializers.IntegerField()
        practice_answered = serializers.IntegerField()
        last_activity_at = serializers.DateTimeField(allow_null=True)
        has_voted = serializers.BooleanField()

    @extend_schema(responses=ProgressRowSerializer(many=True))
    def get(self, request, slug: str):
        """Staff: every reader's progress and last activity."""
        study = study_for_staff(request.user, slug)
        return Response(self.ProgressRowSerializer(selectors.readers_overview(study), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer})
    def post(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership, created = study_services.reader_add(study=study, actor=request.user,
                                                        **serializer.validated_data)
        return Response(self.OutputSerializer(membership).data, status=201 if created else 200)


# --- creating a study, its detail, monitoring readers ------------------------------------------------------------

class StudyListApi(study_api.StudyListApi):
    """The caller's studies (GET); staff create a study complete (POST): findings and sources (default: all), the
    reading protocol and its admins, through the service the New study page and ``manage.py create_study`` use."""

    class InputSerializer(serializers.Serializer):
        slug = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                     help_text="Derived from the name when empty.")
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        findings = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=100,
                                         help_text="Finding slugs (default: every finding).")
        sources = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=100,
                                        help_text="Source slugs (default: every source).")
        allow_vote_changes = serializers.BooleanField(required=False, default=False)
        show_finding = serializers.BooleanField(required=False, default=False)
        ask_confidence = serializers.BooleanField(required=False, default=False)
        practice_count = serializers.IntegerField(required=False, default=0, min_value=0, max_value=100)
        repeat_percent = serializers.DecimalField(required=False, default=0, max_digits=5, decimal_places=2,
                                                  min_value=0, max_value=100)
        exposure_mode = serializers.ChoiceField(required=False, default=ExposureMode.OFF, choices=ExposureMode.values)
        exposure_ms = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0,
                                               max_value=2**31 - 1)
        planned_readers = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                                   max_value=100_000)
        planned_cases = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                                 max_value=100_000)
        admins = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list,
                                       max_length=20, help_text="More admins besides you (staff usernames).")

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        if not may_administer(request.user):
            raise PermissionDenied("Only staff accounts create studies.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        study = creation.study_set_up(creation.StudySetUp(**serializer.validated_data), creator=request.user)
        return Response(study_detail(study), status=status.HTTP_201_CREATED)


def study_detail(study: Study) -> dict:
    """A study as its admins see it: findings, sources, status and lifecycle dates, protocol, admins, counts."""
    return {
        **study_api.StudySerializer(study).data,
        "created_at": study.created_at, "opened_at": study.opened_at, "closed_at": study.closed_at,
        "findings": [{"slug": f.slug, "name": f.name} for f in study.findings.all()],
        "sources": [{"slug": s.slug, "name": s.name, "is_real": s.is_real} for s in study.sources.all()],
        "protocol": protocol_settings(study),
        "admins": list(study.administrators.values_list("user__username", flat=True)),
        "cases": study.cases.included().count(), "readers": study.memberships.count(),
        "planned_readers": study.planned_readers, "planned_cases": study.planned_cases,
        "next_statuses": lifecycle.next_statuses(study),
    }


class StudyDetailApi(APIView):
    """Study admins: the study with its findings, sources, status and protocol."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, slug: str):
        return Response(study_detail(study_for_staff(request.user, slug)))


class StudyMonitoringApi(APIView):
    """Study admins: per reader progress, time on image (median, fastest) and flags, with the thresholds behind them
    and the links to invite or remind readers."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        read_url = request.build_absolute_uri(reverse("read", kwargs={"slug": study.slug}))
        rows = monitoring.reader_monitoring(study)
        return Response({
            "thresholds": {"fast_median_ms": monitoring.THRESHOLDS.fast_median_ms,
                           "one_sided_share": monitoring.THRESHOLDS.one_sided_share,
                           "min_answers": monitoring.THRESHOLDS.min_answers,
                           "described": monitoring.THRESHOLDS.described()},
            "reminder_url": read_url,
            "invitations": [  # each with the id that withdraws it (DELETE .../invitations/<id>/)
                {"id": invitation.pk,
                 "url": request.build_absolute_uri(reverse("invitation", kwargs={"token": invitation.token})),
                 "note": invitation.note, "created_at": invitation.created_at, "expires_at": invitation.expires_at}
                for invitation in usable_invitations(study)],
            "readers": [
                {key: row[key] for key in ("pseudonym", "username", "answered", "total", "practice_answered",
                                           "last_activity_at", "median_ms", "fastest_ms", "timed_answers",
                                           "top_answer", "top_share", "flags")}
                for row in rows],
        })
