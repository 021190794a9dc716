"""One patient's record as a FHIR R4 Bundle (`Patient/<id>/$everything`).

Plain dicts in FHIR's JSON shape (the tests validate them with the fhir.resources R4B
models): Patient, the Practitioners and Locations involved, Appointments, Procedures, a
QuestionnaireResponse per answered check-in with a pain Observation (LOINC 72514-3) derived
from it, and a pain Observation of each procedure's baseline. The codes, each with its
source, are in docs/clinical.md, "Codes in the exports"; a Procedure's side is a
BodyStructure named by the procedure-targetBodyStructure extension, so that `bodySite`
keeps the plain structure code any reader understands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from booking.models import Appointment, AppointmentStatus, Clinician, Location, Patient
from followup.clinical import procedure_baseline
from followup.models import CheckInAnswer, Procedure, Side
from followup.side_effects import expected_effect_labels, warning_sign_labels, warning_signs

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"

# Site slug -> SNOMED CT body structure (code, display). Trigger points lie in muscles, so
# the trigger point sites are muscles of the neck and of the back, never spine structures.
# Bursal has no entry: no bursa concept could be verified (docs/clinical.md).
BODY_SITES: dict[str, tuple[str, str]] = {
    "cervical-trigger-point": ("81727001", "Muscle of neck"),
    "thoracic": ("244849004", "Deep muscle of back"),
    "lumbar": ("244849004", "Deep muscle of back"),
    "intra-articular": ("39352004", "Joint"),
}
# Procedure.side -> SNOMED CT laterality qualifier (code, display); midline and "not
# applicable" have no laterality.
LATERALITY: dict[str, tuple[str, str]] = {
    Side.LEFT: ("7771000", "Left"),
    Side.RIGHT: ("24028007", "Right"),
    Side.BILATERAL: ("51440002", "Bilateral"),
}
# What was done, by site; text only until a SNOMED CT procedure concept is verified.
PROCEDURE_TEXT: dict[str, str] = {
    "intra-articular": "Intra-articular injection",
    "bursal": "Injection of bursa",
}
TRIGGER_POINT_INJECTION = "Trigger point injection"
TARGET_BODY_STRUCTURE = "http://hl7.org/fhir/StructureDefinition/procedure-targetBodyStructure"
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


def body_structure_id(procedure: Procedure) -> str:
    return f"site-{procedure.pk}"


def body_structure_resource(procedure: Procedure) -> dict[str, Any] | None:
    """The injected structure with its side, when both are coded (else None)."""
    site = BODY_SITES.get(procedure.site.slug)
    side = LATERALITY.get(procedure.side)
    if site is None or side is None:
        return None
    return {
        "resourceType": "BodyStructure",
        "id": body_structure_id(procedure),
        "location": _snomed(site),
        "locationQualifier": [_snomed(side)],
        "description": f"{procedure.site.name} ({procedure.get_side_display().lower()})",
        "patient": _ref("Patient", procedure.appointment.patient_id),
    }


def _snomed(code: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": code[0], "display": code[1]}]}


def procedure_resource(procedure: Procedure) -> dict[str, Any]:
    site = procedure.site
    body_site: dict[str, Any] = {"text": f"{site.name} ({procedure.get_side_display().lower()})"}
    if site.slug in BODY_SITES:
        body_site["coding"] = _snomed(BODY_SITES[site.slug])["coding"]
    injectates = [str(row) for row in procedure.injectates.all()]
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": str(procedure.pk),
        "status": "completed",
        "code": {"text": PROCEDURE_TEXT.get(site.slug, TRIGGER_POINT_INJECTION)},
        "subject": _ref("Patient", procedure.appointment.patient_id),
        "performedDateTime": _instant(procedure.performed_at),
        "performer": [{"actor": _ref("Practitioner", procedure.performed_by_id)}],
        "location": _ref("Location", procedure.appointment.location_id),
        "bodySite": [body_site],
        "usedCode": [{"text": name} for name in injectates],
    }
    if body_structure_resource(procedure) is not None:
        resource["extension"] = [
            {
                "url": TARGET_BODY_STRUCTURE,
                "valueReference": _ref("BodyStructure", body_structure_id(procedure)),
            }
        ]
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


def _pain_observation(
    *, resource_id: str, patient_id: int, procedure_id: int, moment: datetime, pain: int, note: str
) -> dict[str, Any]:
    code, display = PAIN_LOINC
    return {
        "resourceType": "Observation",
        "id": resource_id,
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
        "subject": _ref("Patient", patient_id),
        # R4 lets only partOf name a Procedure (derivedFrom takes no Procedure).
        "partOf": [_ref("Procedure", procedure_id)],
        "effectiveDateTime": _instant(moment),
        "valueInteger": pain,
        "note": [{"text": note}],
    }


def pain_observation_resource(answer: CheckInAnswer) -> dict[str, Any]:
    check_in = answer.check_in
    episode = check_in.episode
    resource = _pain_observation(
        resource_id=f"pain-{check_in.pk}",
        patient_id=episode.patient_id,
        procedure_id=episode.procedure_id,
        moment=answer.answered_at,
        pain=answer.pain,
        note=f"Day {check_in.day} after the injection",
    )
    resource["derivedFrom"] = [_ref("QuestionnaireResponse", check_in.pk)]
    return resource


def baseline_observation_resource(procedure: Procedure) -> dict[str, Any] | None:
    """The baseline pain as its own Observation: at the procedure's time when measured just
    before injecting, at the booking's when it was the score given at booking; None without
    a baseline."""
    baseline = procedure_baseline(procedure)
    if baseline.pain is None:
        return None
    measured_at = procedure.appointment.created if baseline.from_booking else procedure.performed_at
    return _pain_observation(
        resource_id=f"baseline-{procedure.pk}",
        patient_id=procedure.appointment.patient_id,
        procedure_id=procedure.pk,
        moment=measured_at,
        pain=baseline.pain,
        note=(
            baseline.note[:1].upper() + baseline.note[1:]
            if baseline.from_booking
            else "Baseline measured just before the injection"
        ),
    )


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
    for procedure in procedures:
        resources.append(procedure_resource(procedure))
        if (structure := body_structure_resource(procedure)) is not None:
            resources.append(structure)
        if (baseline := baseline_observation_resource(procedure)) is not None:
            resources.append(baseline)
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
