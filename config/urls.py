from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from booking.views import pages
from booking.views.login import RoleHomeLoginView
from booking.views.password_reset import ThrottledPasswordResetView
from config import health

admin.site.site_header = admin.site.site_title = "Clinic administration"
handler400 = "booking.api.errors.bad_request"
handler404 = "booking.api.errors.not_found"
handler500 = "booking.api.errors.server_error"

# Swagger UI under the Content Security Policy: the split view serves its start-up script
# as a file, and its icons are data: images, which only this page allows.
api_docs = csp_update({"img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("healthz/dispatcher", health.healthz_dispatcher, name="healthz-dispatcher"),
    path("", include("booking.urls")),
    path("", include("followup.urls")),
    path("desk/", include("booking.desk.urls")),
    path("", include("booking.feeds_urls")),
    path("fhir/", include("followup.fhir_urls")),  # FHIR R4: Patient/<id>/$everything
    # Before Django's own, which it replaces: the same page, throttled.
    path(
        "accounts/password_reset/",
        ThrottledPasswordResetView.as_view(),
        name="password_reset",
    ),
    # Before Django's own, which it replaces: the same page, landing each role at its work.
    path("accounts/login/", RoleHomeLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/v1/", include("booking.api.urls")),
    path("api/v1/", include("followup.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
]
