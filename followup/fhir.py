"""One patient's record as a FHIR R4 Bundle (`Patient/<id>/$everything`).

Plain dicts in FHIR's JSON shape (the tests validate them with the fhir.resources R4B
models, wire-compatible with R4 for these resources): Patient, the Practitioners and
Locations involved, Appointments, Procedures (body site coded with SNOMED CT where a code
exists), a QuestionnaireResponse per answered check-in and an Observation per pain score
(LOINC 72514-3) derived from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from booking.models import Appointment, AppointmentStatus, Clinician, Location, Patient
from followup.models import CheckInAnswer, Procedure
from followup.side_effects import expected_effect_labels, warning_sign_labels, warning_signs

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"

# Site slug -> (SNOMED CT code, display) of the body structure; bursal has no single code.
BODY_SITES: dict[str, tuple[str, str]] = {
    "cervical-trigger-point": ("122494005", "Cervical spine structure"),
    "thoracic": ("122495006", "Thoracic spine structure"),
    "lumbar": ("122496007", "Lumbar spine structure"),
    "intra-articular": ("39352004", "Joint structure"),
}
PAIN_LOINC = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")

APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.ARRIVED: "arrived",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.NO_SHOW: "noshow",
    AppointmentStatus.CANCELLED: "cancelled",
}


def _instant(moment: datetime) -> str:
    return moment.isoformat()


def _ref(resource_type: str, pk: object) -> dict[str, str]:
    return {"reference": f"{resource_type}/{pk}"}


def patient_resource(patient: Patient) -> dict[str, Any]:
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": str(patient.phone), "use": "mobile"})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "name": [{"family": patient.last_name, "given": [patient.first_name]}],
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if telecom:
        resource["telecom"] = telecom
    return resource


def practitioner_resource(clinician: Clinician) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": str(clinician.pk),
        "active": clinician.is_active,
        "name": [{"text": clinician.display_name}],
    }


def location_resource(location: Location) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(location.pk),
        "status": "active",
        "name": location.name,
        "address": {"text": location.address},
    }
    if location.phone:
        resource["telecom"] = [{"system": "phone", "value": str(location.phone)}]
    return resource


def appointment_resource(appointment: Appointment) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.public_id),
        "status": APPOINTMENT_STATUS[AppointmentStatus(appointment.status)],
        "serviceType": [{"text": f"{appointment.site.name} injection consult"}],
        "start": _instant(appointment.start),
        "end": _instant(appointment.end),
        "participant": [
            {"actor": _ref("Patient", appointment.patient_id), "status": "accepted"},
            {"actor": _ref("Practitioner", appointment.clinician_id), "status": "accepted"},
            {"actor": _ref("Location", appointment.location_id), "status": "accepted"},
        ],
    }
    if appointment.cancellation_reason:
        resource["cancelationReason"] = {"text": appointment.cancellation_reason}
    return resource


def procedure_resource(procedure: Procedure) -> dict[str, Any]:
    site = procedure.site
    body_site: dict[str, Any] = {"text": f"{site.name} ({procedure.get_side_display().lower()})"}
    if site.slug in BODY_SITES:
        code, display = BODY_SITES[site.slug]
        body_site["coding"] = [{"system": SNOMED, "code": code, "display": display}]
    injectates = [str(row) for row in procedure.injectates.all()]
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": str(procedure.pk),
        "status": "completed",
        "code": {"text": "Trigger point injection"},
        "subject": _ref("Patient", procedure.appointment.patient_id),
        "performedDateTime": _instant(procedure.performed_at),
        "performer": [{"actor": _ref("Practitioner", procedure.performed_by_id)}],
        "location": _ref("Location", procedure.appointment.location_id),
        "bodySite": [body_site],
        "usedCode": [{"text": name} for name in injectates],
    }
    if not injectates:
        del resource["usedCode"]
    return resource


def _item(link_id: str, text: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"linkId": link_id, "text": text, "answer": answers}


def questionnaire_response_resource(answer: CheckInAnswer) -> dict[str, Any]:
    check_in = answer.check_in
    episode = check_in.episode
    items = [_item("pain", "Pain right now, 0-10", [{"valueInteger": answer.pain}])]
    if answer.relief_percent is not None:
        items.append(_item("relief", "Percent relief", [{"valueInteger": answer.relief_percent}]))
    if answer.pgic is not None:
        items.append(
            _item(
                "pgic",
                "Patient Global Impression of Change",
                [{"valueString": answer.get_pgic_display()}],
            )
        )
    if effects := expected_effect_labels(answer.side_effects):
        items.append(_item("side-effects", "Side effects", [{"valueString": e} for e in effects]))
    # An unanswered question has no item (FHIR's way to say "not answered"), so an answer
    # by text with only a score never reads as "none of these".
    if warning_signs(answer.side_effects):
        labels = warning_sign_labels(answer.side_effects)
        items.append(_item("warning-signs", "Warning signs", [{"valueString": s} for s in labels]))
    if answer.activity:
        items.append(
            _item("activity", "Activity", [{"valueString": answer.get_activity_display()}])
        )
    if answer.medication:
        items.append(
            _item(
                "medication", "Pain medication", [{"valueString": answer.get_medication_display()}]
            )
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(check_in.pk),
        "status": "completed",
        "subject": _ref("Patient", episode.patient_id),
        "partOf": [_ref("Procedure", episode.procedure_id)],
        "authored": _instant(answer.answered_at),
        "item": items,
    }


def pain_observation_resource(answer: CheckInAnswer) -> dict[str, Any]:
    check_in = answer.check_in
    episode = check_in.episode
    code, display = PAIN_LOINC
    return {
        "resourceType": "Observation",
        "id": f"pain-{check_in.pk}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                        "display": "Survey",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": _ref("Patient", episode.patient_id),
        "partOf": [_ref("Procedure", episode.procedure_id)],
        "effectiveDateTime": _instant(answer.answered_at),
        "valueInteger": answer.pain,
        "derivedFrom": [_ref("QuestionnaireResponse", check_in.pk)],
        "note": [{"text": f"Day {check_in.day} after the injection"}],
    }


def patient_everything(patient: Patient, *, base_url: str, now: datetime) -> dict[str, Any]:
    """The Bundle of everything this product holds on the patient, in four queries."""
    appointments = list(
        Appointment.objects.filter(patient=patient)
        .select_related("site", "clinician", "location")
        .order_by("start")
    )
    procedures = list(
        Procedure.objects.filter(appointment__patient=patient)
        .select_related("site", "appointment", "performed_by", "appointment__location")
        .prefetch_related("injectates")
        .order_by("performed_at")
    )
    answers = list(
        CheckInAnswer.objects.filter(check_in__episode__patient=patient)
        .select_related("check_in__episode")
        .order_by("check_in__episode__started_at", "check_in__day")
    )
    clinicians = {a.clinician.pk: a.clinician for a in appointments} | {
        p.performed_by.pk: p.performed_by for p in procedures
    }
    locations = {a.location.pk: a.location for a in appointments} | {
        p.appointment.location.pk: p.appointment.location for p in procedures
    }
    resources: list[dict[str, Any]] = [patient_resource(patient)]
    resources += [practitioner_resource(c) for _, c in sorted(clinicians.items())]
    resources += [location_resource(loc) for _, loc in sorted(locations.items())]
    resources += [appointment_resource(a) for a in appointments]
    resources += [procedure_resource(p) for p in procedures]
    for answer in answers:
        resources.append(questionnaire_response_resource(answer))
        resources.append(pain_observation_resource(answer))
    base = base_url.rstrip("/")
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": _instant(now),
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match" if r["resourceType"] == "Patient" else "include"},
            }
            for r in resources
        ],
    }
