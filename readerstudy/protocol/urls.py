from django.urls import path

from . import api, views

urlpatterns = [
    path("studies/<slug:slug>/protocol/", views.protocol_page, name="protocol"),
    path("studies/<slug:slug>/protocol/status/", views.status_change, name="protocol-status"),
    path("studies/<slug:slug>/protocol/cues/", views.cues_change, name="protocol-cues"),
    path("studies/<slug:slug>/sequences/", views.sequences_page, name="protocol-sequences"),
    path("studies/<slug:slug>/readers/", views.readers_page, name="protocol-readers"),
    path("studies/<slug:slug>/readers/<str:pseudonym>/reset/", views.reader_reset, name="protocol-reader-reset"),
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("api/studies/<slug:slug>/protocol/", api.StudyProtocolApi.as_view(), name="api-protocol"),
    path("api/studies/<slug:slug>/status/", api.StudyStatusApi.as_view(), name="api-status"),
    path("api/studies/<slug:slug>/audit/", api.StudyAuditApi.as_view(), name="api-audit"),
    path("api/studies/<slug:slug>/sequences/", api.StudySequencesApi.as_view(), name="api-sequences"),
    path("api/studies/<slug:slug>/sequences.csv", api.StudySequencesCsvApi.as_view(), name="api-sequences-csv"),
    path("api/studies/<slug:slug>/sequences/check/", api.StudySequenceCheckApi.as_view(), name="api-sequence-check"),
    path("api/studies/<slug:slug>/cues/", api.StudyCuesApi.as_view(), name="api-cues"),
    path("api/studies/<slug:slug>/practice-images/", api.StudyPracticeImagesApi.as_view(),
         name="api-practice-images"),
    path("api/studies/<slug:slug>/invitations/", api.StudyInvitationsApi.as_view(), name="api-invitations"),
    path("api/studies/<slug:slug>/readers/<str:pseudonym>/reset/", api.StudyReaderResetApi.as_view(),
         name="api-reader-reset"),
]
