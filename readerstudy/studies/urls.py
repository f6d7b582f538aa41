from django.urls import path, re_path

from . import api, auth, views

urlpatterns = [
    path("", views.home, name="home"),
    path("resume/", views.resume, name="resume"),
    path("studies/<slug:slug>/read/", views.read, name="read"),
    path("studies/<slug:slug>/finished/", views.finished, name="finished"),
    re_path(r"^i/(?P<token>[A-Za-z0-9_-]{16,40})\.png$", views.case_image, name="case_image"),
    path("api/auth/token/", auth.ObtainExpiringAuthToken.as_view(), name="api-token"),
    path("api/studies/", api.StudyListApi.as_view(), name="api-studies"),
    path("api/studies/<slug:slug>/next/", api.StudyNextApi.as_view(), name="api-next"),
    path("api/studies/<slug:slug>/votes/", api.StudyVotesApi.as_view(), name="api-votes"),
    path("api/studies/<slug:slug>/progress/", api.StudyProgressApi.as_view(), name="api-progress"),
    path("api/studies/<slug:slug>/sequence/<int:position>/", api.StudyPositionApi.as_view(), name="api-position"),
    path("api/studies/<slug:slug>/readers/", api.StudyReadersApi.as_view(), name="api-readers"),
    path("api/studies/<slug:slug>/open/", api.StudyOpenApi.as_view(), name="api-open"),
    path("api/studies/<slug:slug>/admins/", api.StudyAdminsApi.as_view(), name="api-admins"),
    path("api/studies/<slug:slug>/admins/<str:username>/", api.StudyAdminDetailApi.as_view(), name="api-admin"),
]
