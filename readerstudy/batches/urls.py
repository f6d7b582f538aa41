from django.urls import path

from . import api, views

urlpatterns = [
    path("studies/<slug:slug>/batches/", views.batch_list, name="batch_list"),
    path("studies/<slug:slug>/batches/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("studies/<slug:slug>/batches/<int:batch_id>/delete/", views.batch_remove, name="batch_delete"),
    path("studies/<slug:slug>/batches/<int:batch_id>/audit/", views.batch_audit_records, name="batch_audit_records"),
    path("studies/<slug:slug>/batches/<int:batch_id>/quality.png", views.batch_audit_figure, {"image_format": "png"},
         name="batch_quality_png"),
    path("studies/<slug:slug>/batches/<int:batch_id>/quality.svg", views.batch_audit_figure, {"image_format": "svg"},
         name="batch_quality_svg"),
    path("api/studies/<slug:slug>/batches/", api.BatchListApi.as_view(), name="api_batch_list"),
    path("api/studies/<slug:slug>/batches/<int:batch_id>/", api.BatchDetailApi.as_view(), name="api_batch_detail"),
]
