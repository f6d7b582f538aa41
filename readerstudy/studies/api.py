"""The REST API for readers and scripts: thin views over selectors and services.

Readers reach a study only through their membership (non-members get 404). Nothing here ever names a case's source
or truth; the finding name appears only when the study says so.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.protocol import reading, showings
from readerstudy.protocol.models import Phase, RepeatVote
from readerstudy.protocol.services import protocol_for

from . import selectors, services
from .models import Answer, Study, StudyAdministrator, Vote
from .permissions import IsStudyAdmin, may_administer

MAX_TIME_MS = 3_600_000  # an hour on one image is not a measurement; the database refuses more as well


def _error(detail: str, field: str, code: int, **extra) -> Response:
    return Response({"detail": detail, "errors": {field: [detail]}, **extra}, status=code)


class StudySerializer(serializers.Serializer):
    """What a reader may know about a study: no sources, no truth, no other reader."""

    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    allow_vote_changes = serializers.BooleanField()
    ask_confidence = serializers.BooleanField()
    show_progress = serializers.BooleanField()


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


def _slot_payload(membership, state, index: int, practice: bool = False, revisit_vote=None) -> dict:
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
    study = membership.study
    protocol = protocol_for(study)
    case = None
    if not practice and (study.show_finding or protocol.timed):
        case = selectors.cases_by_pk([slot.case_id])[slot.case_id]
    exposure = None
    if protocol.timed:
        if revisit_vote is not None:
            exposure = revisit_vote.exposure_ms or protocol.exposure_ms
        else:
            track = None if practice else reading.case_track(membership, protocol, case.pk, case.source_id,
                                                             case.source.is_real)
            exposure = reading.exposure_for(membership, protocol, track)
    url, prefetch_url = showings.showing_urls(membership, slot.pk, exposure,
                                              following.pk if following is not None else None,
                                              revisit=revisit_vote is not None)
    shown = slots if practice else state.sequence
    payload = {"case": _shown_case_id(slot), "image_url": url, "prefetch_image_url": prefetch_url}
    if practice or study.show_progress:
        payload.update(position=index + 1, total=len(shown),
                       answered=sum(1 for one in shown if state.is_answered(one)) if practice else state.answered)
    elif study.allow_vote_changes:
        payload["position"] = index + 1
    if practice:
        payload["practice"] = True
    elif study.show_finding:
        payload["finding"] = case.finding.name
    if exposure is not None:
        payload["exposure_ms"] = exposure
    return payload


def _reading_membership(request, slug: str):
    return selectors.membership_for(request.user, slug)


class StudyListApi(APIView):
    """The caller's studies: those they read in and those they administer (a superuser: every study). Staff create
    studies here and become their first admin."""

    class InputSerializer(serializers.Serializer):
        slug = serializers.SlugField(max_length=64)
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        allow_vote_changes = serializers.BooleanField(required=False, default=False)
        show_finding = serializers.BooleanField(required=False, default=False)
        show_progress = serializers.BooleanField(required=False, default=True)
        ask_confidence = serializers.BooleanField(required=False, default=False)

        def validate_slug(self, value: str) -> str:
            if Study.objects.filter(slug=value).exists():
                raise serializers.ValidationError("A study with this slug already exists.")
            return value

    @extend_schema(responses=StudySerializer(many=True))
    def get(self, request):
        return Response(StudySerializer(selectors.studies_for_user(request.user), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: StudySerializer})
    def post(self, request):
        if not may_administer(request.user):
            raise PermissionDenied("Only staff accounts create studies.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        study = services.study_create(created_by=request.user, **serializer.validated_data)
        return Response(StudySerializer(study).data, status=status.HTTP_201_CREATED)


class StudyNextApi(APIView):
    """The reader's first unread case in their own order, or 204 when every case is answered."""

    @extend_schema(responses={200: CaseSerializer, 204: OpenApiResponse(description="Every case is answered.")})
    def get(self, request, slug: str):
        membership = _reading_membership(request, slug)
        if not membership.study.is_open:
            return _error(f"The study is {membership.study.get_status_display().lower()}.", "study", 409)
        state = selectors.reading_state(membership)
        practice_index = state.first_unread_practice()
        if practice_index is not None:
            return Response(_slot_payload(membership, state, practice_index, practice=True))
        index = state.first_unread_index()
        if index is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_slot_payload(membership, state, index))


class StudyPositionApi(APIView):
    """An answered position of the reader's sequence with the reader's own vote, for going back: only where the study
    allows going back, and never ahead of the reader (a script must not see images it has not been shown)."""

    @extend_schema(responses=CaseSerializer)
    def get(self, request, slug: str, position: int):
        membership = _reading_membership(request, slug)
        study = membership.study
        if not study.is_open:
            return _error(f"The study is {study.get_status_display().lower()}.", "study", 409)
        if not study.allow_vote_changes:
            return _error("This study does not let readers go back to earlier images.", "position", 403)
        state = selectors.reading_state(membership)
        if not 1 <= position <= state.total or not state.is_answered(state.sequence[position - 1]):
            return _error(f"Position {position} is not an image you have answered.", "position", 404)
        slot = state.sequence[position - 1]
        if slot.is_repeat:
            vote = RepeatVote.objects.filter(slot_id=slot.pk).first()
        else:
            vote = Vote.objects.filter(membership=membership, case_id=slot.case_id).order_by("pk").first()
        payload = _slot_payload(membership, state, position - 1, revisit_vote=vote)
        payload["vote"] = {"answer": vote.answer, "confidence": vote.confidence}
        return Response(payload)


class StudyProgressApi(APIView):
    @extend_schema(responses=ProgressSerializer)
    def get(self, request, slug: str):
        membership = _reading_membership(request, slug)
        progress = selectors.study_progress(membership)
        if not membership.study.show_progress:
            progress = {"done": progress["done"]}  # hidden from the reader: not merely in the page
        return Response(progress)


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
        membership = selectors.membership_for(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            return self._cast(membership, serializer.validated_data)
        except services.StudyStateError as exc:
            return _error(str(exc), exc.field, 409)
        except (reading.ReasonError, services.ConfidenceRequired) as exc:
            return _error(str(exc), exc.field, 400)
        except services.CaseNotInStudy:
            return _error("No such case in this study.", "case", 400)
        except services.VoteConflict as exc:
            return _error(str(exc), "answer", 409, vote=VoteSerializer(exc.vote).data)

    def _cast(self, membership, data: dict) -> Response:
        """A first showing (the common case, tried first), else a repeat or practice image of the reader's own."""
        answer = {key: data.get(key) for key in ("answer", "confidence", "time_ms")}
        try:
            outcome = services.vote_cast(membership=membership, case_public_id=data["case"], cues=data.get("cues"),
                                         note=data.get("note"), **answer)
        except services.CaseNotInStudy:
            slot = reading.own_slot(membership, data["case"])
            if slot is None:
                raise
            return self._own_slot_answer(membership, slot, data, answer)
        code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return Response(VoteSerializer(outcome.vote).data, status=code)

    def _own_slot_answer(self, membership, slot, data: dict, answer: dict) -> Response:
        """A repeat (answered like a first showing, reasons aside) or a practice image."""
        if not membership.study.is_open:
            raise services.StudyStateError(
                f"The study is {membership.study.get_status_display().lower()}, not open for reading.")
        protocol = protocol_for(membership.study)
        if slot.phase == Phase.PRACTICE:
            result = reading.practice_cast(membership, slot, protocol, **answer)
        else:
            reading.checked_cues(membership.study, protocol, answer["answer"], data.get("cues"), data.get("note"))
            result = reading.repeat_cast(membership, slot, protocol, **answer)
        if result.conflict:
            return _error(str(services.VoteConflict(None)), "answer", 409, vote=result.payload)
        return Response(result.payload, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class StudyReadersApi(APIView):
    """Staff: list readers with their progress; add a reader (the account is created when it does not exist)."""

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
        password = serializers.CharField(required=False, allow_blank=False, write_only=True, min_length=8)

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
        from readerstudy.protocol.selectors import readers_overview

        study = selectors.study_for_staff(request.user, slug)
        return Response(self.ProgressRowSerializer(readers_overview(study), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer})
    def post(self, request, slug: str):
        study = selectors.study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership, created = services.reader_add(study=study, **serializer.validated_data)
        return Response(self.OutputSerializer(membership).data, status=201 if created else 200)


class StudyOpenApi(APIView):
    """Staff: open a study for reading (refused, 409, when it has nothing to compare)."""

    @extend_schema(request=None, responses={200: StudySerializer})
    def post(self, request, slug: str):
        study = selectors.study_for_staff(request.user, slug)
        try:
            services.study_open(study)
        except services.StudyStateError as exc:
            return _error(str(exc), exc.field, 409)
        return Response(StudySerializer(study).data)


class StudyAdminSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    granted_by = serializers.CharField(source="granted_by.username", allow_null=True, default=None)
    granted_at = serializers.DateTimeField()


class StudyAdminsApi(APIView):
    """Study admins: list the study's admins; grant admin rights to an existing account (audited)."""

    permission_classes = [IsAuthenticated, IsStudyAdmin]

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)

    @extend_schema(responses=StudyAdminSerializer(many=True))
    def get(self, request, slug: str):
        admins = StudyAdministrator.objects.filter(study=request.study).select_related("user", "granted_by")
        return Response(StudyAdminSerializer(admins, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: StudyAdminSerializer, 200: StudyAdminSerializer})
    def post(self, request, slug: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = selectors.account_named(serializer.validated_data["username"])
        if user is None:
            return _error("No account with this username.", "username", 400)
        role, created = services.study_admin_grant(study=request.study, user=user, actor=request.user)
        return Response(StudyAdminSerializer(role).data, status=201 if created else 200)


class StudyAdminDetailApi(APIView):
    """Study admins: remove an admin's rights (audited; refused, 409, for the study's last admin)."""

    permission_classes = [IsAuthenticated, IsStudyAdmin]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Removed.")})
    def delete(self, request, slug: str, username: str):
        user = selectors.account_named(username)
        try:
            removed = user is not None and services.study_admin_revoke(study=request.study, user=user,
                                                                        actor=request.user)
        except services.LastAdmin as exc:
            return _error(str(exc), "username", 409)
        if not removed:
            return _error("This account is not an admin of the study.", "username", 404)
        return Response(status=status.HTTP_204_NO_CONTENT)
