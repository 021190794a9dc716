"""The FHIR R4 endpoints, mounted under /fhir/ by config/urls.py."""

from django.urls import path

from followup.views import exports

urlpatterns = [
    path(
        "Patient/<int:patient_id>/$everything",
        exports.patient_everything_view,
        name="fhir_patient_everything",
    )
]
