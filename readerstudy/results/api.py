"""The results API: Table 1, the statistics and the per-vote CSV for study admins (staff); a reader's own score.

Anyone but staff gets 404 for the admin endpoints, as if the study did not exist; the only reader-facing endpoint is
``my-score``, answered once the study is closed and only where the study allows it.
"""
from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.negotiation import DownloadNegotiation
from readerstudy.reading.selectors import membership_for
from readerstudy.studies.models import Study
from readerstudy.studies.selectors import study_for_staff

from . import analysis_plan, export, marks, mrmc_export, report, selectors, services
from .marks_report import marks_markdown
from .models import AnalysisPlan


class StudyTable1Api(APIView):
    @extend_schema(summary="Table 1: images each reader judged real, per finding and source",
                   responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such study for you.")})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response(services.build_table1(study).as_dict())


class StudyStatisticsApi(APIView):
    @extend_schema(summary="Statistics beyond Table 1 (intervals, tests, agreement, HYPE-infinity, AUC, time)",
                   responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such study for you.")})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response(services.study_results(study).report)


class StudyExportApi(APIView):
    content_negotiation_class = DownloadNegotiation

    class InputSerializer(serializers.Serializer):
        reader = serializers.RegexField(r"^R[1-9][0-9]{0,8}$", required=False,
                                        error_messages={"invalid": "A reader is named by pseudonym, like R2."})
        usernames = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        summary="Every vote as CSV (streamed), optionally one reader's",
        parameters=[OpenApiParameter("reader", str, description="a pseudonym, e.g. R2"),
                    OpenApiParameter("usernames", bool, description="add a username column")],
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: OpenApiResponse(description="Unknown reader."),
                   404: OpenApiResponse(description="No such study for you.")},
    )
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        pseudonym = params.validated_data.get("reader")
        membership = None
        if pseudonym is not None:
            membership = selectors.membership_by_pseudonym(study, pseudonym)
            if membership is None:
                raise ValidationError({"reader": [f"Study {study.slug!r} has no reader {pseudonym}."]})
        rows = selectors.votes_for_export(study, membership)
        response = StreamingHttpResponse(export.stream_csv(rows, params.validated_data["usernames"]),
                                         content_type="text/csv; charset=utf-8")
        name = f"{study.slug}-votes{'-' + pseudonym if pseudonym else ''}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response


class StudyMyScoreApi(APIView):
    @extend_schema(summary="The caller's own score, once the study is closed and if it shows scores",
                   responses={200: OpenApiTypes.OBJECT, 403: OpenApiResponse(description="Not shown (yet)."),
                              404: OpenApiResponse(description="Not a member of this study.")})
    def get(self, request, slug: str):
        membership = membership_for(request.user, slug)
        if refusal := membership.study.own_score_refusal:
            raise PermissionDenied(refusal)
        return Response(services.build_own_score(membership))


def _text_download(body, name: str, content_type: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


class StudyImrmcExportApi(APIView):
    """Staff: the study's first-showing votes as an iMRMC input file (one modality per generator)."""

    content_negotiation_class = DownloadNegotiation

    @extend_schema(summary="iMRMC input file (readerID,caseID,modalityID,score with truth rows)",
                   responses={(200, "text/plain"): OpenApiTypes.STR,
                              404: OpenApiResponse(description="No such study for you.")})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return _text_download(iter([mrmc_export.imrmc_text(study)]), f"{study.slug}.imrmc",
                              "text/plain; charset=utf-8")


class StudyLongExportApi(APIView):
    """Staff: one row per vote (first showings and repeats) with every design variable, ready for R."""

    content_negotiation_class = DownloadNegotiation

    @extend_schema(summary="Long table for R: one row per vote with every design variable",
                   responses={(200, "text/csv"): OpenApiTypes.STR,
                              404: OpenApiResponse(description="No such study for you.")})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return _text_download(mrmc_export.long_csv(study), f"{study.slug}-long.csv", "text/csv; charset=utf-8")


class StudyReportMarkdownApi(APIView):
    """Staff: the results as a Markdown report (summary, main comparisons, planning, Table 1)."""

    content_negotiation_class = DownloadNegotiation

    @extend_schema(summary="The results as a Markdown report",
                   responses={(200, "text/markdown"): OpenApiTypes.STR,
                              404: OpenApiResponse(description="No such study for you.")})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        results = services.study_results(study)
        marks_section = marks_markdown(marks.marks_results(study, results.version), {
            "Heat maps of marks": request.build_absolute_uri(reverse("results-marks-heatmap-png", args=[study.slug])),
            "Marks per case": request.build_absolute_uri(reverse("results-marks-cases-png", args=[study.slug]))})
        return _text_download(iter([report.markdown_report(results.report, results.table), marks_section]),
                              f"{study.slug}-report.md", "text/markdown; charset=utf-8")


class StudyAnalysisPlanApi(APIView):
    """The pre-registered analysis plan: read it, or set it while the study is a draft (opening freezes it)."""

    class InputSerializer(serializers.Serializer):
        endpoint = serializers.ChoiceField(choices=AnalysisPlan.Endpoint.choices)
        test = serializers.ChoiceField(choices=AnalysisPlan.Test.choices, default=AnalysisPlan.Test.NON_INFERIORITY)
        margin = serializers.FloatField()
        alpha = serializers.FloatField(default=0.05)
        primary = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                        help_text="generator names; empty: every generator")

    @extend_schema(summary="The study's analysis plan (null before one is registered) and the proposed readers x "
                           "cases for it", responses={200: OpenApiTypes.OBJECT,
                                                      404: OpenApiResponse(description="No such study for you.")})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        plan = analysis_plan.plan_for(study)
        data = analysis_plan.plan_data(plan)
        return Response({"plan": data, "frozen": study.status != Study.Status.DRAFT,
                         "proposal": analysis_plan.proposal_for(plan)})

    @extend_schema(summary="Register or change the analysis plan (draft studies only)", request=InputSerializer,
                   responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="A value out of range."),
                              409: OpenApiResponse(description="The study has opened: the plan is frozen.")})
    def put(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        plan = analysis_plan.plan_set(study, request.user, **params.validated_data)
        return Response({"plan": analysis_plan.plan_data(plan), "frozen": False,
                         "proposal": analysis_plan.proposal_for(plan)})


class StudyCrossedExportApi(APIView):
    """What RJafroc can read: per pair of generators, a fully crossed iMRMC file where the design is crossed
    (matched origin images), or the reason only iMRMC can analyse that comparison."""

    @extend_schema(summary="Fully crossed iMRMC files per comparison of two generators (for RJafroc), where the "
                           "design allows", responses={200: OpenApiTypes.OBJECT,
                                                       404: OpenApiResponse(description="No such study for you.")})
    def get(self, request, slug: str):
        study = study_for_staff(request.user, slug)
        return Response({"comparisons": [
            {"first": item.first, "second": item.second, "crossed": item.text is not None, "imrmc": item.text,
             "reason": item.reason, "matched_origins": item.origins, "readers": item.readers}
            for item in mrmc_export.crossed_exports(study)]})
