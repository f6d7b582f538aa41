from django.urls import path

from . import api, auth, views

urlpatterns = [
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("api/auth/token/", auth.ObtainExpiringAuthToken.as_view(), name="api-token"),
    path("api/studies/<slug:slug>/admins/", api.StudyAdminsApi.as_view(), name="api-admins"),
    path("api/studies/<slug:slug>/admins/<str:username>/", api.StudyAdminDetailApi.as_view(), name="api-admin"),
    path("api/studies/<slug:slug>/audit/", api.StudyAuditApi.as_view(), name="api-audit"),
    path("api/studies/<slug:slug>/invitations/", api.StudyInvitationsApi.as_view(), name="api-invitations"),
    path("api/studies/<slug:slug>/invitations/<int:invitation_id>/", api.StudyInvitationDetailApi.as_view(),
         name="api-invitation"),
]
