"""The protocol's REST API, for the study's admins (anyone else gets 404): settings, lifecycle, audit trail,
sequences and their check, the cue list, the practice pool, invitations and resetting a reader."""
from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.studies.models import Finding, Membership, Source, Study
from readerstudy.studies.selectors import study_for_staff
from readerstudy.text import neutralise

from . import selectors, services
from .models import ExposureMode

PRACTICE_MAX_PIXELS = 40_000_000


def _error(exc: services.ProtocolError) -> Response:
    code = 409 if isinstance(exc, services.SettingsFrozen) or exc.field in ("status", "reader", "cases") else 400
    return Response({"detail": str(exc), "errors": {exc.field: [str(exc)]}}, status=code)


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
        try:
            services.settings_update(study, request.user, dict(serializer.validated_data))
        except services.ProtocolError as exc:
            return _error(exc)
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
        try:
            services.study_transition(study, request.user, serializer.validated_data["status"])
        except services.ProtocolError as exc:
            response = _error(exc)
            response.status_code = 409
            return response
        return Response({"slug": study.slug, "status": study.status})


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    field = serializers.CharField(allow_blank=True)
    old = serializers.CharField(allow_blank=True)
    new = serializers.CharField(allow_blank=True)


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


class StudyAuditApi(APIView):
    @extend_schema(responses=AuditEntrySerializer(many=True))
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response([
            {"at": entry.at, "actor": entry.actor.get_username() if entry.actor else None, "action": entry.action,
             "field": entry.field, "old": entry.old_value, "new": entry.new_value}
            for entry in selectors.audit_trail(study)
        ])


def _membership_or_400(study: Study, pseudonym: str | None) -> Membership | None:
    if not pseudonym:
        return None
    number = pseudonym[1:] if pseudonym[:1] in ("R", "r") else ""
    valid = number.isascii() and number.isdigit() and len(number) <= 9
    membership = Membership.objects.filter(study=study, number=int(number)).first() if valid else None
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


class CsvOnly(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StudySequencesCsvApi(APIView):
    content_negotiation_class = CsvOnly

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        membership = _membership_or_400(study, request.query_params.get("reader"))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(selectors.SEQUENCE_COLUMNS)
        writer.writerows([neutralise(cell) for cell in row] for row in selectors.sequence_rows(study, membership))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        suffix = f"-{membership.pseudonym}" if membership else ""
        response["Content-Disposition"] = f'attachment; filename="{study.slug}-sequences{suffix}.csv"'
        response["Cache-Control"] = "no-store"
        return response


class StudySequenceCheckApi(APIView):
    """Re-derive every reader's sequence from their seed and compare it with the stored one."""

    @extend_schema(responses=SequenceCheckSerializer(many=True))
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response([selectors.sequence_check(member)
                         for member in Membership.objects.filter(study=study).order_by("number")])


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
        try:
            cues = services.cues_update(study, request.user, serializer.validated_data["cues"])
        except services.ProtocolError as exc:
            return _error(exc)
        return Response({"cues": [{"id": cue.pk, "label": cue.label} for cue in cues]})


class StudyPracticeImagesApi(APIView):
    """Add a PNG to the practice pool (refused when it is also a study case)."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        image = serializers.FileField()
        source = serializers.SlugRelatedField(slug_field="slug", queryset=Source.objects.all())
        finding = serializers.SlugRelatedField(slug_field="slug", queryset=Finding.objects.all(), required=False)

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, slug: str):
        from readerstudy.batches.normalise import normalise_image  # the batch import's normalisation

        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            png = normalise_image(data["image"].read(), crop_margin=study.crop_margin,
                                  max_pixels=PRACTICE_MAX_PIXELS).png
        except ValueError as exc:
            return Response({"detail": str(exc), "errors": {"image": [str(exc)]}}, status=400)
        try:
            image = services.practice_image_add(study, request.user, png_bytes=png, source=data["source"],
                                                finding=data.get("finding"))
        except services.ProtocolError as exc:
            return _error(exc)
        return Response({"id": image.pk, "source": image.source.name}, status=status.HTTP_201_CREATED)


class StudyInvitationsApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.invitation_create(study, request.user, serializer.validated_data["note"])
        url = request.build_absolute_uri(reverse("invitation", kwargs={"token": invitation.token}))
        return Response({"url": url, "note": invitation.note}, status=status.HTTP_201_CREATED)


class StudyReaderResetApi(APIView):
    """Reset a reader's session (practice answers, sequence, staircases): only before their first vote (409)."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, slug: str, pseudonym: str):
        study = study_for_staff(request.user, slug)
        membership = _membership_or_400(study, pseudonym)
        try:
            services.reader_reset(membership, request.user)
        except services.ProtocolError as exc:
            return _error(exc)
        return Response({"reader": membership.pseudonym, "reset": True})
