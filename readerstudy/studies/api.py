"""The REST API for readers and scripts: thin views over selectors and services.

Readers reach a study only through their membership (non-members get 404). Nothing here ever names a case's source
or truth; the finding name appears only when the study says so.
"""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.protocol import reading
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
    position = serializers.IntegerField()
    total = serializers.IntegerField()
    answered = serializers.IntegerField()
    prefetch_image_url = serializers.CharField(allow_null=True)
    finding = serializers.CharField(required=False)
    vote = serializers.DictField(allow_null=True, required=False)


class ProgressSerializer(serializers.Serializer):
    answered = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.BooleanField()


def _shown_ids(slot) -> tuple[str, str]:
    """The (case id, image URL) a reader sees for a slot: a first showing under its case's own ids, a repeat or a
    practice image under its slot's own, equally random ids."""
    if slot.own_public_id:
        return slot.own_public_id, reverse("case_image", kwargs={"token": slot.own_image_token})
    return slot.case_public_id, reverse("case_image", kwargs={"token": slot.case_image_token})


def _slot_payload(membership, state, index: int, practice: bool = False) -> dict:
    """The slot at ``index`` (of the practice block or of the study), with the image URL of the next unread one for
    prefetching, and the exposure when the study is timed."""
    slots = state.practice if practice else state.sequence
    slot = slots[index]
    following = None
    if practice:
        rest = [later for later in state.practice[index + 1:] if not state.is_answered(later)]
        following = rest[0] if rest else None
    if following is None:
        at = state.first_unread_index(0 if practice else index + 1)
        following = state.sequence[at] if at is not None else None
    case_id, url = _shown_ids(slot)
    shown = slots if practice else state.sequence
    payload = {
        "case": case_id,
        "image_url": url,
        "position": index + 1,
        "total": len(shown),
        "answered": sum(1 for one in shown if state.is_answered(one)) if practice else state.answered,
        "prefetch_image_url": _shown_ids(following)[1] if following is not None else None,
    }
    study = membership.study
    protocol = protocol_for(study)
    case = None
    if not practice and (study.show_finding or protocol.timed):
        case = selectors.cases_by_pk([slot.case_id])[slot.case_id]
    if practice:
        payload["practice"] = True
    elif study.show_finding:
        payload["finding"] = case.finding.name
    if protocol.timed:
        track = None
        if not practice:
            source_is_real = case.source.is_real
            track = reading.case_track(membership, protocol, case.source_id, source_is_real, index + 1)
        payload["exposure_ms"] = reading.exposure_for(membership, protocol, track)
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
    """The case at a position of the reader's sequence with the reader's own vote (for going back)."""

    @extend_schema(responses=CaseSerializer)
    def get(self, request, slug: str, position: int):
        membership = _reading_membership(request, slug)
        if not membership.study.is_open:
            return _error(f"The study is {membership.study.get_status_display().lower()}.", "study", 409)
        state = selectors.reading_state(membership)
        if not 1 <= position <= state.total:
            return _error(f"Position must be between 1 and {state.total}.", "position", 404)
        payload = _slot_payload(membership, state, position - 1)
        slot = state.sequence[position - 1]
        if slot.is_repeat:
            vote = RepeatVote.objects.filter(slot_id=slot.pk).first()
        else:
            vote = Vote.objects.filter(membership=membership, case_id=slot.case_id).order_by("pk").first()
        payload["vote"] = {"answer": vote.answer, "confidence": vote.confidence} if vote else None
        return Response(payload)


class StudyProgressApi(APIView):
    @extend_schema(responses=ProgressSerializer)
    def get(self, request, slug: str):
        membership = _reading_membership(request, slug)
        return Response(selectors.study_progress(membership))


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
        except reading.ReasonError as exc:
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
