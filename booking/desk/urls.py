"""The reception desk: /desk/…, one URL module per part."""

from django.urls import include, path

app_name = "desk"

urlpatterns = [
    path("", include("booking.desk.records_urls")),
    path("", include("booking.desk.calendar_urls")),
    path("", include("booking.desk.schedules_urls")),
]
