"""A clinician's desk calendar is their own; booking is the desk's.

The day view, the week, the printed day sheet and the appointment pages used to show a
clinician every colleague's patients (names, birth dates, contact details, safety flags),
and the desk's booking let a clinician put any patient in their own care. Now a clinician
sees their own column and opens their own appointments; reception and clinic admins see
the whole clinic and book.
"""

from datetime import UTC, date, datetime, time

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from booking.models import Appointment, AppointmentStatus, Site
from booking.roles import CLINICIAN
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    UserFactory,
    WorkingHoursFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

DAY = date(2026, 12, 2)  # a Wednesday
NOW = datetime(2026, 12, 1, 17, tzinfo=UTC)  # the day before DAY


@pytest.fixture
def clinic(db):
    location = LocationFactory(name="Main Street")
    lumbar = Site.objects.get(slug="lumbar")
    clinicians = []
    for name in ("Quinn", "Mallory"):
        user = UserFactory(username=f"dr.{name.lower()}", is_staff=True)
        user.groups.add(Group.objects.get(name=CLINICIAN))
        clinician = ClinicianFactory(
            user=user, display_name=f"Dr. {name}", sites=[lumbar], locations=[location]
        )
        WorkingHoursFactory(
            clinician=clinician,
            location=location,
            weekday=DAY.weekday(),
            start_time=time(8),
            end_time=time(17),
        )
        clinicians.append(clinician)
    quinn, mallory = clinicians
    own = AppointmentFactory(
        site=lumbar,
        clinician=mallory,
        location=location,
        patient=PatientFactory(first_name="Olive", last_name="Ownpatient"),
        start=datetime.combine(DAY, time(9), tzinfo=location.zone),
    )
    colleagues = AppointmentFactory(
        site=lumbar,
        clinician=quinn,
        location=location,
        patient=PatientFactory(
            first_name="Zelda", last_name="Quigley", email="zelda.quigley@example.org"
        ),
        start=datetime.combine(DAY, time(10), tzinfo=location.zone),
    )
    return {
        "location": location,
        "quinn": quinn,
        "mallory": mallory,
        "own": own,
        "other": colleagues,
    }


@pytest.fixture
def mallory(clinic) -> Client:
    client = Client()
    client.force_login(clinic["mallory"].user)
    return client


def _calendar_pages(clinic) -> dict[str, str]:
    location, quinn = clinic["location"].pk, clinic["quinn"].pk
    return {
        "day": f"{reverse('desk:day')}?location={location}&date={DAY}",
        "day of a colleague": f"{reverse('desk:day')}?location={location}&date={DAY}"
        f"&clinician={quinn}",
        "week of a colleague": f"{reverse('desk:week')}?clinician={quinn}&date={DAY}",
        "week": f"{reverse('desk:week')}?date={DAY}",
        "day sheet": f"{reverse('desk:day_print')}?location={location}&date={DAY}",
    }


def test_a_clinicians_calendar_shows_their_own_patients_only(clinic, mallory):
    for page, url in _calendar_pages(clinic).items():
        response = mallory.get(url, follow=True)
        assert response.status_code == 200, page
        text = response.content.decode()
        assert "Quigley" not in text, page
        assert "Ownpatient" in text, page
        assert reverse("desk:book") not in text, page
        assert reverse("desk:walk_in") not in text, page


def test_reception_sees_every_clinician(clinic, receptionist):
    client = Client()
    client.force_login(receptionist)
    text = client.get(_calendar_pages(clinic)["day"]).content.decode()
    for shown in ("Quigley", "Ownpatient", reverse("desk:book"), reverse("desk:walk_in")):
        assert shown in text


def test_a_colleagues_appointment_is_404_and_stays_as_it_was(clinic, mallory):
    other = clinic["other"]
    assert mallory.get(reverse("desk:appointment", args=[other.public_id])).status_code == 404
    for action in ("arrived", "no_show", "cancel", "reschedule"):
        url = reverse(f"desk:appointment_{action}", args=[other.public_id])
        response = mallory.post(url, {"reason": "x", "start": "2026-12-02T11:00:00-05:00"})
        assert response.status_code == 404, action
    other.refresh_from_db()
    assert (other.status, other.start) == (
        AppointmentStatus.BOOKED,
        datetime.combine(DAY, time(10), tzinfo=clinic["location"].zone),
    )
    # Their own opens.
    own = reverse("desk:appointment", args=[clinic["own"].public_id])
    assert mallory.get(own).status_code == 200


def test_a_clinician_does_not_book_at_the_desk(clinic, mallory):
    """An appointment made by staff puts the patient in that clinician's care."""
    start = datetime.combine(DAY, time(14), tzinfo=clinic["location"].zone)
    book = (
        f"{reverse('desk:book')}?location={clinic['location'].pk}"
        f"&clinician={clinic['mallory'].pk}&start={start.isoformat().replace('+', '%2B')}"
    )
    assert mallory.get(book).status_code == 403
    posted = mallory.post(
        book,
        {"patient": str(clinic["other"].patient_id), "site": Site.objects.get(slug="lumbar").pk},
    )
    assert posted.status_code == 403
    walk_in = mallory.post(reverse("desk:walk_in"), {"patient": str(clinic["other"].patient_id)})
    assert walk_in.status_code == 403
    assert Appointment.objects.count() == 2
    search = mallory.get(reverse("desk:book"), {"q": "Quigley"})
    assert search.status_code == 403
