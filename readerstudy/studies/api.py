"""The set-up's REST API: the caller's studies, creating and opening one, its admins, the audit trail and
invitations. Thin views over selectors and services; refusals are the services' ``ApplicationError``s.

The reader's own API (next image, votes, progress) is ``readerstudy.reading.api``.
"""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.errors import NotFound

from . import selectors, services
from .api_permissions import IsStudyAdmin
from .models import StudyAdministrator
from .selectors import study_for_staff


class StudySerializer(serializers.Serializer):
    """What a reader may know about a study: no sources, no truth, no other reader."""

    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    allow_vote_changes = serializers.BooleanField()
    ask_confidence = serializers.BooleanField()
    show_progress = serializers.BooleanField()


class StudyListApi(APIView):
    """The caller's studies: those they read in and those they administer (a superuser: every study). Creating a
    study (POST) is ``readerstudy.reading.api.StudyListApi``, which creates it complete with its protocol."""

    @extend_schema(responses=StudySerializer(many=True))
    def get(self, request):
        return Response(StudySerializer(selectors.studies_for_user(request.user), many=True).data)



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
        role, created = services.study_admin_grant_named(study=request.study, actor=request.user,
                                                         username=serializer.validated_data["username"])
        return Response(StudyAdminSerializer(role).data, status=201 if created else 200)


class StudyAdminDetailApi(APIView):
    """Study admins: remove an admin's rights (audited; refused, 409, for the study's last admin)."""

    permission_classes = [IsAuthenticated, IsStudyAdmin]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Removed.")})
    def delete(self, request, slug: str, username: str):
        user = selectors.account_named(username)
        removed = user is not None and services.study_admin_revoke(study=request.study, user=user, actor=request.user)
        if not removed:
            raise NotFound("This account is not an admin of the study.", "username")
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    field = serializers.CharField(allow_blank=True)
    old = serializers.CharField(allow_blank=True)
    new = serializers.CharField(allow_blank=True)


class StudyAuditApi(APIView):
    @extend_schema(responses=AuditEntrySerializer(many=True))
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response([
            {"at": entry.at, "actor": entry.actor.get_username() if entry.actor else None, "action": entry.action,
             "field": entry.field, "old": entry.old_value, "new": entry.new_value}
            for entry in selectors.audit_trail(study)
        ])


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
        return Response({"id": invitation.pk, "url": url, "note": invitation.note,
                         "expires_at": invitation.expires_at}, status=status.HTTP_201_CREATED)


class StudyInvitationDetailApi(APIView):
    """Withdraw an unused invitation link (audited; 409 once it was used)."""

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Withdrawn.")})
    def delete(self, request, slug: str, invitation_id: int):
        services.invitation_revoke(study_for_staff(request.user, slug), request.user, invitation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
