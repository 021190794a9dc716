"""The desk's home, patient records, merging duplicates and the audit log page."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from booking.models import (
    AppointmentSource,
    AppointmentStatus,
    AuditEvent,
    Clinician,
    Patient,
    Site,
    WaitlistEntry,
)
from booking.patients import MergeRefused, merge_patients, search_patients
from booking.services import PatientDetails, find_or_create_patient
from followup.models import (
    Alert,
    AnswerRoute,
    CheckInAnswer,
    Episode,
    Message,
    MessageKind,
    MessageState,
)
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    UserFactory,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 12, 10, 17, tzinfo=UTC)  # 12:00 in New York


@pytest.fixture
def doctor(clinician_user: User) -> Clinician:
    return ClinicianFactory(user=clinician_user, display_name="Dr. Patel")


@pytest.fixture
def patient(doctor: Clinician) -> Patient:
    """A patient of Dr. Patel's, with a procedure, an answered check-in and messages."""
    person = PatientFactory(
        first_name="Alice",
        last_name="Smith",
        email="alice@example.com",
        phone="+18605550123",
        consent_email=True,
        consent_sms=True,
    )
    episode = episode_after_procedure(patient=person, clinician=doctor)
    check_in = episode.check_ins.order_by("day").first()
    CheckInAnswer.objects.create(
        check_in=check_in,
        pain=3,
        relief_percent=50,
        pgic=2,
        side_effects=["bruising"],
        comment="My neighbour's dog bit me",
        route=AnswerRoute.WEB,
        first_answered_at=NOW - timedelta(hours=2),
        answered_at=NOW - timedelta(hours=2),
    )
    AppointmentFactory(
        patient=person,
        clinician=doctor,
        site=Site.objects.get(slug="lumbar"),
        start=NOW + timedelta(days=7),
    )
    return person


def _login(client: Client, user: User | None) -> Client:
    if user is not None:
        client.force_login(user)
    return client


def _user(request: pytest.FixtureRequest, who: str) -> User | None:
    return None if who == "anonymous" else request.getfixturevalue(who)


# --- permissions -------------------------------------------------------------------------

WHO = ["anonymous", "patient_user", "receptionist", "clinician_user", "clinic_admin"]
# URL name -> expected status per user (302 = to the login page).
MATRIX = {
    "home": [302, 403, 200, 200, 200],
    "patients": [302, 403, 200, 200, 200],
    "patient": [302, 403, 200, 200, 200],
    "merge": [302, 403, 200, 403, 200],
    "audit": [302, 403, 403, 403, 200],
    "feed": [302, 403, 200, 200, 200],
}


def _url(name: str, patient: Patient) -> str:
    return {
        "home": "/desk/",
        "patients": "/desk/patients/?q=Smith",
        "patient": f"/desk/patients/{patient.pk}/",
        "merge": f"/desk/patients/{patient.pk}/merge/",
        "audit": "/desk/audit/",
        "feed": "/desk/feed/",
    }[name]


@pytest.mark.parametrize("name", list(MATRIX))
@pytest.mark.parametrize("who", WHO)
def test_permission_matrix(client, request, patient, who, name):
    response = _login(client, _user(request, who)).get(_url(name, patient))
    expected = MATRIX[name][WHO.index(who)]
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["anonymous", "patient_user", "clinician_user"])
def test_only_reception_and_admins_may_post_edits_or_merges(client, request, patient, who):
    other = PatientFactory()
    client = _login(client, _user(request, who))
    edit = client.post(f"/desk/patients/{patient.pk}/", {"first_name": "Mallory"})
    merge = client.post(f"/desk/patients/{patient.pk}/merge/", {"duplicate": other.pk})
    assert edit.status_code in {302, 403}
    assert merge.status_code in {302, 403}
    if who != "anonymous":
        assert edit.status_code == merge.status_code == 403
    patient.refresh_from_db()
    other.refresh_from_db()
    assert patient.first_name == "Alice"
    assert Patient.objects.get(pk=other.pk).email == other.email


@pytest.mark.parametrize(
    "path",
    [
        "/desk/patients/999999/",
        "/desk/patients/999999/merge/",
        "/desk/patients/{pk}/merge/?duplicate=999999",
        "/desk/patients/{pk}/merge/?duplicate=abc",
    ],
)
def test_unknown_ids_are_404(client, clinic_admin, patient, path):
    client.force_login(clinic_admin)
    assert client.get(path.format(pk=patient.pk)).status_code == 404


def test_a_clinician_cannot_open_a_patient_they_never_saw(client, clinician_user, doctor):
    stranger = AppointmentFactory().patient  # booked with another clinician
    client.force_login(clinician_user)
    assert client.get(f"/desk/patients/{stranger.pk}/").status_code == 404
    found = client.get("/desk/patients/", {"q": stranger.last_name}).context["results"]
    assert found == []


def test_a_clinic_admin_opens_any_patient(client, clinic_admin):
    stranger = AppointmentFactory().patient
    client.force_login(clinic_admin)
    assert client.get(f"/desk/patients/{stranger.pk}/").status_code == 200


# --- the record --------------------------------------------------------------------------


def test_the_record_shows_history_and_masks_recipients(client, receptionist, patient):
    client.force_login(receptionist)
    page = client.get(f"/desk/patients/{patient.pk}/").content.decode()
    upcoming = patient.appointments.get(start=NOW + timedelta(days=7))
    assert f"/desk/appointments/{upcoming.public_id}/" in page
    assert "Lumbar" in page
    assert "Left" in page  # the side
    assert "Corticosteroid" in page
    assert "Local anesthetic" in page
    message = Message.objects.filter(appointment__patient=patient).first()
    assert message is not None
    assert f"<td>{message.recipient}</td>" not in page


# What the patient answered, and the pain before the needle: clinical, not reception's.
CLINICAL = ["3/10", "6/10", "50 %", "Much improved", "Bruising", "dog bit me"]


def test_reception_gets_no_clinical_answers(client, receptionist, patient):
    client.force_login(receptionist)
    response = client.get(f"/desk/patients/{patient.pk}/")
    page = response.content.decode()
    for answer in CLINICAL:
        assert answer not in page, answer
    assert "Comment" not in page
    assert response.context["answers"] == []
    assert "shown to clinicians" in page


@pytest.mark.parametrize("who", ["clinician_user", "clinic_admin"])
def test_clinicians_and_admins_see_the_answers(client, request, patient, who):
    client.force_login(request.getfixturevalue(who))
    page = client.get(f"/desk/patients/{patient.pk}/").content.decode()
    for answer in CLINICAL:
        assert answer in page, answer
    # An answer without the warning-sign question reads "not answered", never "none".
    assert "<td>Not answered</td>" in page


def test_a_clinician_links_only_to_the_appointments_booked_with_them(
    client, clinician_user, patient
):
    colleagues = AppointmentFactory(patient=patient, start=NOW + timedelta(days=3))
    own = patient.appointments.get(start=NOW + timedelta(days=7))
    client.force_login(clinician_user)
    page = client.get(f"/desk/patients/{patient.pk}/").content.decode()
    assert colleagues.clinician.display_name in page  # listed...
    assert f"/desk/appointments/{colleagues.public_id}/" not in page  # ...not opened
    assert f"/desk/appointments/{own.public_id}/" in page


def test_clinicians_get_no_edit_form(client, clinician_user, patient):
    client.force_login(clinician_user)
    response = client.get(f"/desk/patients/{patient.pk}/")
    assert response.context["form"] is None
    assert "Save details" not in response.content.decode()


def test_viewing_a_record_is_audited(client, receptionist, patient):
    client.force_login(receptionist)
    client.get(f"/desk/patients/{patient.pk}/", REMOTE_ADDR="203.0.113.7")
    event = AuditEvent.objects.get(patient=patient, action=AuditEvent.Action.VIEW)
    assert event.user == receptionist
    assert event.ip_address == "203.0.113.7"
    assert event.object_type == "Patient"
    assert event.object_id == str(patient.pk)
    assert event.at == NOW


def _details(patient: Patient, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "email": patient.email,
        "phone": str(patient.phone),
        "consent_email": "on" if patient.consent_email else "",
        "consent_sms": "on" if patient.consent_sms else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


@pytest.mark.parametrize("who", ["receptionist", "clinic_admin"])
def test_reception_and_admins_edit_details(client, request, patient, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(
        f"/desk/patients/{patient.pk}/",
        _details(patient, email="Alice.New@Example.com", phone="+1 860 555 0199", consent_sms=""),
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.email == "alice.new@example.com"
    assert patient.phone.as_e164 == "+18605550199"
    assert not patient.consent_sms
    event = AuditEvent.objects.get(patient=patient, action=AuditEvent.Action.CHANGE)
    assert "email" in event.summary
    assert "phone" in event.summary


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "not-an-email"},
        {"phone": "12"},
        {"phone": "call me"},
        {"email": "", "phone": ""},
        {"email": "", "consent_email": "on"},
        {"date_of_birth": "31/02/1970"},
        {"first_name": ""},
    ],
)
def test_bad_edits_are_form_errors_and_save_nothing(client, receptionist, patient, changes):
    client.force_login(receptionist)
    before = Patient.objects.values().get(pk=patient.pk)
    response = client.post(f"/desk/patients/{patient.pk}/", _details(patient, **changes))
    assert response.status_code == 400
    assert response.context["form"].errors
    assert "Please check the form" in response.content.decode()
    assert Patient.objects.values().get(pk=patient.pk) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CHANGE).exists()


# --- search ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["smith", "Alice Smith", "1970-05-17", "5550123", "(860) 555-0123", "alice@example"]
)
def test_search_finds_by_name_birth_date_phone_or_email(client, receptionist, patient, query):
    PatientFactory(first_name="Bob", last_name="Jones", date_of_birth=date(1980, 1, 1))
    client.force_login(receptionist)
    response = client.get("/desk/patients/", {"q": query})
    assert [found.pk for found in response.context["results"]] == [patient.pk]
    assert AuditEvent.objects.filter(user=receptionist, summary__contains="Searched").exists()


def test_an_empty_search_lists_no_one(client, receptionist, patient):
    client.force_login(receptionist)
    assert client.get("/desk/patients/", {"q": "  "}).context["results"] == []


# --- the home page -----------------------------------------------------------------------


def test_home_shows_todays_numbers_with_links(client, receptionist, patient, doctor):
    location = LocationFactory(name="Main Street")
    today = NOW.replace(hour=14)  # 09:00 in New York
    for status in ["booked", "booked", "arrived", "no_show", "cancelled"]:
        AppointmentFactory(location=location, start=today, status=status)
    AppointmentFactory(location=location, start=NOW + timedelta(days=1))  # tomorrow
    # 23:30 in New York the day before: yesterday there, though 04:30 UTC today.
    AppointmentFactory(location=location, start=datetime(2026, 12, 10, 4, 30, tzinfo=UTC))
    answer = CheckInAnswer.objects.get()
    Alert.objects.create(answer=answer, clinician=doctor, reasons=["Fever"])
    Alert.objects.create(
        answer=answer, clinician=doctor, reasons=["Old"], acknowledged_at=NOW, acknowledged_by=None
    )
    message = Message.objects.first()
    assert message is not None
    Message.objects.filter(pk=message.pk).update(state=MessageState.FAILED)

    client.force_login(receptionist)
    response = client.get("/desk/")
    row = next(day for day in response.context["days"] if day.location == location)
    assert (row.booked, row.arrived, row.no_shows) == (2, 1, 1)
    assert row.day == date(2026, 12, 10)
    assert "date=2026-12-10" in row.day_url
    assert row.day_url.startswith("/desk/day/")
    assert [row.alert.reasons for row in response.context["open_alerts"]] == [["Fever"]]
    assert response.context["failed_messages"] == 1
    page = response.content.decode()
    # The admin's message list names patients: clinic admins' only.
    assert "/admin/followup/message/" not in page
    # The clinicians' follow-up page is not reception's: no link to it.
    assert 'href="/staff/"' not in page
    assert 'name="q"' in page
    client.force_login(UserFactory(username="alex", is_staff=True, is_superuser=True))
    assert "/admin/followup/message/?state__exact=failed" in client.get("/desk/").content.decode()


def test_the_navigation_links_to_the_desk(client, receptionist):
    client.force_login(receptionist)
    assert 'href="/desk/"' in client.get("/desk/").content.decode()


# --- merging -----------------------------------------------------------------------------


@pytest.fixture
def duplicate(patient: Patient, doctor: Clinician) -> Patient:
    """The same Alice, booked again with only a phone and another spelling."""
    copy = PatientFactory(
        first_name="Alice",
        last_name="Smyth",
        date_of_birth=patient.date_of_birth,
        email="",
        phone="+18605550999",
        consent_sms=True,
    )
    appointment = AppointmentFactory(patient=copy, clinician=doctor, start=NOW + timedelta(days=3))
    Message.objects.create(
        appointment=appointment,
        patient=copy,
        kind=MessageKind.REMINDER,
        channel="sms",
        minutes_before=120,
        recipient="+18605550999",
        due_at=NOW + timedelta(days=2),
    )
    episode_after_procedure(
        patient=copy, clinician=doctor, performed_at=datetime(2026, 11, 2, 15, tzinfo=UTC)
    )
    WaitlistEntry.objects.create(
        patient=copy, site=Site.objects.get(slug="lumbar"), source=AppointmentSource.RECEPTION
    )
    return copy


def test_merge_moves_all_history_and_fills_missing_contacts(patient, duplicate):
    patient.phone = ""
    patient.consent_sms = False
    patient.save()
    appointments = set(patient.appointments.values_list("pk", flat=True)) | set(
        duplicate.appointments.values_list("pk", flat=True)
    )
    messages = Message.objects.filter(appointment__patient__in=[patient, duplicate]).count()

    result = merge_patients(patient, duplicate)

    patient.refresh_from_db()
    duplicate.refresh_from_db()
    assert set(patient.appointments.values_list("pk", flat=True)) == appointments
    assert Episode.objects.filter(patient=patient).count() == 2
    assert WaitlistEntry.objects.filter(patient=patient).count() == 1
    assert Message.objects.filter(appointment__patient=patient).count() == messages
    assert not duplicate.appointments.exists()
    assert not Episode.objects.filter(patient=duplicate).exists()
    assert not WaitlistEntry.objects.filter(patient=duplicate).exists()
    # Filled from the duplicate: its phone and the SMS consent that came with it.
    assert patient.phone.as_e164 == "+18605550999"
    assert patient.consent_sms
    assert patient.email == "alice@example.com"  # kept's own details win
    assert result.filled == ["phone"]
    # The duplicate is retired: it names the kept record, takes no messages, and neither
    # searches nor booking's matching find it any more.
    assert duplicate.merged_into == patient
    assert not duplicate.consent_sms
    assert not duplicate.consent_email
    assert list(search_patients(Patient.objects.all(), "Smyth")) == []


def test_merge_moves_every_foreign_key_to_patient(patient, duplicate):
    """Whatever points at Patient (found from the model graph), except the audit log."""
    result = merge_patients(patient, duplicate)
    for relation in Patient._meta.related_objects:
        if relation.related_model is AuditEvent:
            continue
        label = f"{relation.related_model._meta.label}.{relation.field.name}"
        assert label in result.moved
        assert not relation.related_model._base_manager.filter(
            **{relation.field.name: duplicate}
        ).exists()


def test_merging_a_patient_into_itself_is_refused(patient):
    with pytest.raises(MergeRefused, match="into itself"):
        merge_patients(patient, patient)


def test_different_birth_dates_need_confirmation(patient, duplicate):
    Patient.objects.filter(pk=duplicate.pk).update(date_of_birth=date(1971, 5, 17))
    duplicate.refresh_from_db()
    with pytest.raises(MergeRefused) as refused:
        merge_patients(patient, duplicate)
    assert refused.value.needs_confirmation
    assert duplicate.appointments.exists()
    merge_patients(patient, duplicate, allow_different_birth_dates=True)
    assert not duplicate.appointments.exists()


def test_a_merge_says_on_each_record_what_happened(patient, duplicate):
    patient.phone = ""
    patient.save()
    appointments = duplicate.appointments.count()

    result = merge_patients(patient, duplicate)

    (kept, on_kept), (retired, on_retired) = result.audit_summaries
    assert (kept, retired) == (patient, duplicate)
    assert on_kept.startswith(f"Merged patient #{duplicate.pk} into this record (moved ")
    assert f"{appointments} booking.Appointment.patient" in on_kept
    assert on_kept.endswith("; took phone)")
    assert on_retired == f"Merged into patient #{patient.pk}; this record is retired"


def test_a_merge_of_an_empty_duplicate_says_it_moved_nothing(patient):
    empty = PatientFactory(date_of_birth=patient.date_of_birth)

    result = merge_patients(patient, empty)

    assert (
        result.audit_summaries[0][1]
        == f"Merged patient #{empty.pk} into this record (moved nothing)"
    )


def test_merge_pages_search_review_and_confirm(client, receptionist, patient, duplicate):
    client.force_login(receptionist)
    search = client.get(f"/desk/patients/{patient.pk}/merge/", {"q": "Alice"})
    assert [found.pk for found in search.context["results"]] == [duplicate.pk]  # not itself

    review = client.get(f"/desk/patients/{patient.pk}/merge/", {"duplicate": duplicate.pk})
    page = review.content.decode()
    assert review.status_code == 200
    assert "Smyth" in page
    assert "Smith" in page
    assert AuditEvent.objects.filter(patient=duplicate, action=AuditEvent.Action.VIEW).exists()

    response = client.post(f"/desk/patients/{patient.pk}/merge/", {"duplicate": duplicate.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/desk/patients/{patient.pk}/"
    assert not duplicate.appointments.exists()
    on_kept = AuditEvent.objects.get(patient=patient, action=AuditEvent.Action.CHANGE)
    on_duplicate = AuditEvent.objects.get(patient=duplicate, action=AuditEvent.Action.CHANGE)
    assert f"#{duplicate.pk}" in on_kept.summary
    assert on_kept.user == receptionist
    assert f"#{patient.pk}" in on_duplicate.summary

    # The retired record's old link leads to the kept one.
    old = client.get(f"/desk/patients/{duplicate.pk}/")
    assert old.status_code == 302
    assert old["Location"] == f"/desk/patients/{patient.pk}/"


def test_the_merge_page_refuses_merging_into_itself(client, clinic_admin, patient):
    client.force_login(clinic_admin)
    response = client.post(f"/desk/patients/{patient.pk}/merge/", {"duplicate": patient.pk})
    assert response.status_code == 400
    assert "cannot be merged into itself" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CHANGE).exists()


def test_the_merge_page_asks_to_confirm_different_birth_dates(
    client, receptionist, patient, duplicate
):
    Patient.objects.filter(pk=duplicate.pk).update(date_of_birth=date(1971, 5, 17))
    client.force_login(receptionist)
    path = f"/desk/patients/{patient.pk}/merge/"
    refused = client.post(path, {"duplicate": duplicate.pk})
    assert refused.status_code == 409
    assert "different dates of birth" in refused.content.decode()
    assert duplicate.appointments.exists()
    merged = client.post(path, {"duplicate": duplicate.pk, "different_birth_dates": "on"})
    assert merged.status_code == 302
    assert not duplicate.appointments.exists()


def test_a_merged_record_cannot_be_merged_again(client, receptionist, patient, duplicate):
    merge_patients(patient, duplicate)
    other = PatientFactory()
    with pytest.raises(MergeRefused, match="already merged"):
        merge_patients(other, duplicate)


# --- the audit log page ------------------------------------------------------------------


def _event(user: User | None, action: str, patient: Patient | None, at: datetime) -> AuditEvent:
    with time_machine.travel(at, tick=False):
        return AuditEvent.objects.create(
            user=user, action=action, patient=patient, object_type="Patient", summary="x"
        )


def test_the_audit_log_filters_and_lists_newest_first(client, clinic_admin, receptionist):
    alice, bob = PatientFactory(), PatientFactory()
    old = _event(receptionist, "view", alice, datetime(2026, 12, 1, 15, tzinfo=UTC))
    new = _event(receptionist, "change", alice, datetime(2026, 12, 9, 15, tzinfo=UTC))
    other = _event(clinic_admin, "view", bob, datetime(2026, 12, 5, 15, tzinfo=UTC))
    client.force_login(clinic_admin)

    def listed(**query: object) -> list[AuditEvent]:
        response = client.get("/desk/audit/", query)
        assert response.status_code == 200
        return [event for event, _ in response.context["rows"]]

    assert listed() == [new, other, old]
    assert listed(user="rita") == [new, old]
    assert listed(patient=alice.pk) == [new, old]
    assert listed(action="view") == [other, old]
    assert listed(date_from="2026-12-02", date_to="2026-12-05") == [other]
    assert listed(date_to="2026-12-01") == [old]


def test_the_audit_log_is_paginated(client, clinic_admin):
    for minute in range(55):
        _event(None, "view", None, datetime(2026, 12, 1, 15, minute, tzinfo=UTC))
    client.force_login(clinic_admin)
    first = client.get("/desk/audit/", {"action": "view"})
    second = client.get("/desk/audit/", {"action": "view", "page": 2})
    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 5
    assert "action=view&amp;page=2" in first.content.decode()
    assert first.context["rows"][0][0].at > second.context["rows"][0][0].at


def test_a_bad_audit_search_is_a_form_error(client, clinic_admin):
    client.force_login(clinic_admin)
    response = client.get("/desk/audit/", {"date_from": "2026-12-05", "date_to": "2026-12-01"})
    assert response.status_code == 400
    assert response.context["form"].errors


def test_the_admin_lists_audit_events_read_only(client, clinic_admin, receptionist):
    event = _event(receptionist, "view", PatientFactory(), NOW)
    client.force_login(clinic_admin)
    assert client.get("/admin/booking/auditevent/", {"q": "rita"}).status_code == 200
    assert client.get("/admin/booking/auditevent/add/").status_code == 403
    detail = client.get(f"/admin/booking/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert 'name="summary"' not in detail.content.decode()
    assert client.post(f"/admin/booking/auditevent/{event.pk}/delete/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_only_clinic_admins_see_the_audit_log_in_the_admin(client, receptionist):
    receptionist.is_superuser = False
    client.force_login(receptionist)
    assert client.get("/admin/booking/auditevent/").status_code == 403


def test_appointments_of_other_statuses_are_listed_too(client, receptionist, patient):
    AppointmentFactory(
        patient=patient, start=NOW - timedelta(days=30), status=AppointmentStatus.CANCELLED
    )
    client.force_login(receptionist)
    response = client.get(f"/desk/patients/{patient.pk}/")
    assert any(a.status == AppointmentStatus.CANCELLED for a in response.context["past"])


def test_a_booking_never_matches_a_retired_duplicate(patient, duplicate):
    merge_patients(patient, duplicate)
    details = PatientDetails(
        first_name=duplicate.first_name,
        last_name=duplicate.last_name,
        date_of_birth=duplicate.date_of_birth,
        email=duplicate.email,
        phone=str(duplicate.phone),
    )
    matched = find_or_create_patient(details, consent_email=True, consent_sms=True)
    assert matched != duplicate
