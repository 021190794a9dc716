"""The desk's home, patient records, the audit log and the calendar feed page."""

from django.urls import URLPattern, path

from booking.views import feeds, given_details, records

urlpatterns: list[URLPattern] = [
    path("", records.home, name="home"),
    path("patients/", records.patient_search, name="patients"),
    path("patients/<int:patient_id>/", records.patient_record, name="patient"),
    path("patients/<int:patient_id>/merge/", records.patient_merge, name="patient_merge"),
    path(
        "patients/<int:patient_id>/given-details/",
        given_details.resolve,
        name="patient_given_details",
    ),
    path("audit/", records.audit_log, name="audit"),
    path("feed/", feeds.feed_page, name="feed"),
]
