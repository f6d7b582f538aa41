"""The project's URLs: each app brings its pages and its API; auth, admin and the API schema live here."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from readerstudy.studies.auth import BoundedAuthenticationForm, CountedPasswordChangeView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=BoundedAuthenticationForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", CountedPasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("readerstudy.studies.urls")),
    path("", include("readerstudy.batches.urls")),
    path("", include("readerstudy.results.urls")),
    path("", include("readerstudy.jobs.urls")),
    path("", include("readerstudy.reading.urls")),
    path("", include("readerstudy.gallery.urls")),
]

handler404 = "readerstudy.errors.not_found"  # JSON under /api/, HTML elsewhere
