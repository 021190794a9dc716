"""One rule for "this clinician's patients", and the attack that self-granted it.

A clinician's patients are those they saw (a completed visit, or a procedure they
performed) and those reception put in their care (an appointment made by staff, or one
the patient kept: arrived or completed). An anonymous booking alone never makes one, even
with a chosen clinician, cancelled at once: it used to turn that clinician's
`/fhir/Patient/<id>/$everything` from 404 to 200.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from booking.models import Appointment, AppointmentSource, AppointmentStatus, Site
from booking.patients import visible_patients
from booking.roles import CLINICIAN, RECEPTION
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    UserFactory,
    WaitlistEntryFactory,
    WorkingHoursFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = "2026-12-02T09:00:00-05:00"
ZELDA = {
    "first_name": "Zelda",
    "last_name": "Quigley",
    "email": "zelda.quigley@example.org",
    "date_of_birth": date(1961, 3, 4),
}


def _clinician(username: str, location, display_name: str):
    lumbar = Site.objects.get(slug="lumbar")
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=CLINICIAN))
    clinician = ClinicianFactory(
        user=user, display_name=display_name, sites=[lumbar], locations=[location]
    )
    for weekday in range(5):
        WorkingHoursFactory(
            clinician=clinician,
            location=location,
            weekday=weekday,
            start_time=time(8),
            end_time=time(17),
        )
    return clinician


@pytest.fixture
def location():
    return LocationFactory(name="Main Street")


@pytest.fixture
def quinn(location):
    """Zelda's clinician."""
    return _clinician("dr.quinn", location, "Dr. Quinn")


@pytest.fixture
def mallory(location):
    """Another clinician of the clinic, who never saw Zelda."""
    return _clinician("dr.mallory", location, "Dr. Mallory")


@pytest.fixture
def zelda(quinn, location):
    """Treated by Dr. Quinn: a procedure, its episode and an answered check-in."""
    patient = PatientFactory(**ZELDA, consent_email=True)
    episode = episode_after_procedure(
        patient=patient,
        clinician=quinn,
        location=location,
        performed_at=NOW - timedelta(days=20),
    )
    answer_check_in(episode, day=1, pain=9)
    return patient


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the rule ----------------------------------------------------------------------------


def _from_waitlist(appointment: Appointment, source: str) -> Appointment:
    """An appointment booked by accepting a waitlist offer, as `booking.waitlist` books it
    (the booking's source is reception, whoever asked to wait)."""
    entry = WaitlistEntryFactory(patient=appointment.patient, source=source)
    entry.offers.create(
        site=appointment.site,
        clinician=appointment.clinician,
        location=appointment.location,
        start=appointment.start,
        expires_at=appointment.start,
        state="accepted",
        appointment=appointment,
    )
    return appointment


@pytest.mark.parametrize(
    ("source", "status", "waitlist", "in_care"),
    [
        # Booked anonymously: never on its own, whatever became of it without staff.
        (AppointmentSource.ONLINE, AppointmentStatus.BOOKED, None, False),
        (AppointmentSource.ONLINE, AppointmentStatus.CANCELLED, None, False),
        (AppointmentSource.ONLINE, AppointmentStatus.NO_SHOW, None, False),
        # ...unless the patient came: staff marked them arrived, the clinician completed it.
        (AppointmentSource.ONLINE, AppointmentStatus.ARRIVED, None, True),
        (AppointmentSource.ONLINE, AppointmentStatus.COMPLETED, None, True),
        # Made by staff.
        (AppointmentSource.RECEPTION, AppointmentStatus.BOOKED, None, True),
        (AppointmentSource.RECEPTION, AppointmentStatus.CANCELLED, None, True),
        # An offer accepted from the patient's own link: made by staff only if staff put
        # the patient on the waitlist.
        (AppointmentSource.RECEPTION, AppointmentStatus.BOOKED, AppointmentSource.ONLINE, False),
        (AppointmentSource.RECEPTION, AppointmentStatus.CANCELLED, AppointmentSource.ONLINE, False),
        (AppointmentSource.RECEPTION, AppointmentStatus.BOOKED, AppointmentSource.RECEPTION, True),
    ],
)
def test_which_appointments_put_a_patient_in_a_clinicians_care(
    quinn, mallory, source, status, waitlist, in_care
):
    appointment = AppointmentFactory(
        clinician=mallory, source=source, status=status, start=NOW + timedelta(days=2)
    )
    if waitlist:
        _from_waitlist(appointment, waitlist)
    patient = appointment.patient
    assert visible_patients(mallory.user).filter(pk=patient.pk).exists() is in_care
    assert not visible_patients(quinn.user).filter(pk=patient.pk).exists()


def test_a_procedure_puts_the_patient_in_the_care_of_who_performed_it(quinn, mallory, zelda):
    assert visible_patients(quinn.user).filter(pk=zelda.pk).exists()
    assert not visible_patients(mallory.user).filter(pk=zelda.pk).exists()
    # Dr. Quinn injected at a visit booked online with Dr. Mallory (covering for them).
    covered = episode_after_procedure(clinician=quinn)
    Appointment.objects.filter(procedure__episode=covered).update(clinician=mallory)
    assert visible_patients(quinn.user).filter(pk=covered.patient_id).exists()


# --- the attack: an anonymous booking, cancelled at once ---------------------------------


def _book_and_cancel_anonymously(clinician) -> None:
    """What anyone who knows Zelda's birth date and email can do, with no login."""
    api = APIClient()
    booked = api.post(
        "/api/v1/appointments/",
        {
            "site": "lumbar",
            "start": WEDNESDAY_9AM,
            "clinician": clinician.pk,
            "patient": {
                "first_name": ZELDA["first_name"],
                "last_name": ZELDA["last_name"],
                "date_of_birth": ZELDA["date_of_birth"].isoformat(),
                "email": ZELDA["email"],
            },
            "reminders": {"email": True, "sms": False},
        },
        format="json",
    )
    assert booked.status_code == 201, booked.content
    token = booked.json()["manage_url"].rstrip("/").rsplit("/", 1)[1]
    cancelled = api.post(f"/api/v1/manage/{token}/cancel/", {"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.content


def _doors(patient_id: int) -> dict[str, str]:
    return {
        "FHIR export": f"/fhir/Patient/{patient_id}/$everything",
        "trends": f"/staff/patients/{patient_id}/trends/",
        "payer documentation": f"/staff/patients/{patient_id}/sites/lumbar/documentation/",
        "check-ins": f"/staff/patients/{patient_id}/check-ins/",
        "desk record": f"/desk/patients/{patient_id}/",
    }


def test_an_anonymous_booking_cancelled_at_once_opens_no_door(mallory, zelda):
    _book_and_cancel_anonymously(mallory)
    booking = Appointment.objects.get(clinician=mallory)
    assert (booking.patient_id, booking.status) == (zelda.pk, AppointmentStatus.CANCELLED)

    client = _logged_in(mallory.user)
    for door, url in _doors(zelda.pk).items():
        response = client.get(url)
        assert response.status_code == 404, door
        assert ZELDA["last_name"] not in response.content.decode(), door
    found = client.get("/desk/patients/", {"q": "Quigley"}).content.decode()
    assert ZELDA["email"] not in found
    assert f"/desk/patients/{zelda.pk}/" not in found
    assert _exported_rows(client) == 0


def _exported_rows(client: Client) -> int:
    export = client.get("/staff/outcomes/export.csv")
    assert export.status_code == 200
    return len(b"".join(export.streaming_content).decode().splitlines()) - 1  # the header


def test_the_patients_own_clinician_still_opens_every_door(quinn, zelda):
    client = _logged_in(quinn.user)
    for door, url in _doors(zelda.pk).items():
        assert client.get(url).status_code == 200, door
    assert _exported_rows(client) == 1


# --- a visit booked online is still the booked clinician's to see and complete -----------


def test_a_clinician_completes_a_visit_booked_online_with_them(location, mallory):
    appointment = AppointmentFactory(
        clinician=mallory,
        location=location,
        site=Site.objects.get(slug="lumbar"),
        source=AppointmentSource.ONLINE,
        start=NOW + timedelta(minutes=30),
    )
    client = _logged_in(mallory.user)
    # Their own appointment: its page and its completion page (safety answers) open...
    assert client.get(f"/desk/appointments/{appointment.public_id}/").status_code == 200
    assert client.get(f"/staff/appointments/{appointment.public_id}/complete/").status_code == 200
    # ...but not the patient's history, which an online booking alone does not give.
    assert client.get(f"/desk/patients/{appointment.patient_id}/").status_code == 404

    reception = UserFactory(username="rita", is_staff=True)
    reception.groups.add(Group.objects.get(name=RECEPTION))
    with time_machine.travel(NOW + timedelta(minutes=25), tick=False):
        arrived = _logged_in(reception).post(f"/desk/appointments/{appointment.public_id}/arrived/")
        assert arrived.status_code == 302
        response = APIClient()
        response.force_authenticate(mallory.user)
        completed = response.post(
            f"/api/v1/appointments/{appointment.public_id}/complete/",
            {"procedure": None},
            format="json",
        )
    assert completed.status_code == 200, completed.content
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    # The patient came and was seen: now they are Dr. Mallory's patient.
    assert client.get(f"/desk/patients/{appointment.patient_id}/").status_code == 200
