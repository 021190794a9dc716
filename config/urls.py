from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from booking.views import pages

admin.site.site_header = admin.site.site_title = "Clinic administration"

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", pages.healthz, name="healthz"),
    path("", include("booking.urls")),
    path("", include("followup.urls")),
    path("desk/", include("booking.desk.urls")),
    path("", include("booking.feeds_urls")),
    path("fhir/", include("followup.views.exports")),  # FHIR R4: Patient/<id>/$everything
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("booking.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
