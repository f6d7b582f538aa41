from django.urls import path

from . import views

urlpatterns = [
    path("studies/<slug:slug>/cases/", views.gallery, name="gallery"),
    path("studies/<slug:slug>/cases/<str:public_id>/", views.case_detail, name="gallery-case"),
    path("studies/<slug:slug>/cases/<str:public_id>/thumb.png", views.case_thumbnail, name="gallery-thumbnail"),
    path("studies/<slug:slug>/cases/<str:public_id>/exclude/", views.case_exclude, name="gallery-exclude"),
    path("studies/<slug:slug>/cases/<str:public_id>/include/", views.case_include, name="gallery-include"),
]
