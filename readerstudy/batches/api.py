"""REST API for batches (staff only; anyone else gets 404, as if the study did not exist). A refused zip is the
service's ``BatchRejected``, answered by the one exception handler."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.parsers import BoundedFormParser, BoundedMultiPartParser
from readerstudy.studies.selectors import study_for_staff

from .models import Batch
from .selectors import batches_of
from .serializers import BatchDetailOutputSerializer, BatchOutputSerializer
from .services import batch_create


class BatchListApi(APIView):
    parser_classes = [BoundedMultiPartParser, BoundedFormParser]

    class InputSerializer(serializers.Serializer):
        archive = serializers.FileField(help_text="The batch zip: manifest.csv and the images (see docs/batch-format).")

    @extend_schema(responses=BatchOutputSerializer(many=True))
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response(BatchOutputSerializer(batches_of(study), many=True).data)

    @extend_schema(request=InputSerializer, responses={202: BatchOutputSerializer})
    def post(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["archive"]
        batch = batch_create(study=study, archive_file=upload, original_name=upload.name, uploaded_by=request.user)
        batch.refresh_from_db()  # with eager Celery the import has already run
        return Response(BatchOutputSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class BatchDetailApi(APIView):
    @extend_schema(responses=BatchDetailOutputSerializer)
    def get(self, request, slug: str, batch_id: int):
        study = study_for_staff(request.user, slug)
        batch = get_object_or_404(Batch.objects.select_related("study", "uploaded_by"), study=study, pk=batch_id)
        return Response(BatchDetailOutputSerializer(batch).data)
