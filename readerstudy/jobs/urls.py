from django.urls import path

from . import views

urlpatterns = [
    path("studies/<slug:slug>/generate/", views.job_list, name="generation_jobs"),
    path("studies/<slug:slug>/generate/<int:job_id>/", views.job_detail, name="generation_job_detail"),
    path("studies/<slug:slug>/generate/<int:job_id>/status/", views.job_status, name="generation_job_status"),
]
