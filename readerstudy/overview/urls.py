from django.urls import path

from . import views

urlpatterns = [
    path("new-study/", views.new_study, name="study_new"),
    path("studies/<slug:slug>/", views.study_home, name="study_home"),
    path("studies/<slug:slug>/plan/", views.plan_change, name="study_plan"),
    path("studies/<slug:slug>/audit/", views.study_audit, name="study_audit"),
]
