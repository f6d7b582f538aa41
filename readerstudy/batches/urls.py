from django.urls import path

from . import api, views

urlpatterns = [
    path("studies/<slug:slug>/batches/", views.batch_list, name="batch_list"),
    path("studies/<slug:slug>/batches/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("studies/<slug:slug>/batches/<int:batch_id>/delete/", views.batch_remove, name="batch_delete"),
    path("api/studies/<slug:slug>/batches/", api.BatchListApi.as_view(), name="api_batch_list"),
    path("api/studies/<slug:slug>/batches/<int:batch_id>/", api.BatchDetailApi.as_view(), name="api_batch_detail"),
]
