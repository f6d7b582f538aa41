from django.urls import path

from . import api, views

urlpatterns = [
    path("studies/<slug:slug>/results/", views.results, name="results"),
    path("studies/<slug:slug>/results/chart.png", views.results_chart, {"image_format": "png"},
         name="results-chart-png"),
    path("studies/<slug:slug>/results/chart.svg", views.results_chart, {"image_format": "svg"},
         name="results-chart-svg"),
    path("studies/<slug:slug>/results/headline.png", views.results_chart, {"image_format": "png", "headline": True},
         name="results-headline-png"),
    path("studies/<slug:slug>/results/headline.svg", views.results_chart, {"image_format": "svg", "headline": True},
         name="results-headline-svg"),
    path("api/studies/<slug:slug>/table1/", api.StudyTable1Api.as_view(), name="api-table1"),
    path("api/studies/<slug:slug>/statistics/", api.StudyStatisticsApi.as_view(), name="api-statistics"),
    path("api/studies/<slug:slug>/export.csv", api.StudyExportApi.as_view(), name="api-export"),
    path("api/studies/<slug:slug>/export.imrmc", api.StudyImrmcExportApi.as_view(), name="api-export-imrmc"),
    path("api/studies/<slug:slug>/export-crossed/", api.StudyCrossedExportApi.as_view(), name="api-export-crossed"),
    path("api/studies/<slug:slug>/export-long.csv", api.StudyLongExportApi.as_view(), name="api-export-long"),
    path("api/studies/<slug:slug>/report.md", api.StudyReportMarkdownApi.as_view(), name="api-report-md"),
    path("api/studies/<slug:slug>/analysis-plan/", api.StudyAnalysisPlanApi.as_view(), name="api-analysis-plan"),
    path("studies/<slug:slug>/results/plan/", views.analysis_plan_page, name="analysis-plan"),
    path("api/studies/<slug:slug>/my-score/", api.StudyMyScoreApi.as_view(), name="api-my-score"),
]
