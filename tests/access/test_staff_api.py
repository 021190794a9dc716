"""Every staff API operation, for each role and for a clinician who is not the patient's.

`GET /api/v1/appointments/?date=…` as a clinician used to list every clinician's
appointments with the patients' contact details and safety flags, and
`GET /api/v1/appointments/<id>/` showed any of them. A clinician now lists and opens the
appointments booked with them (booking.patients.visible_appointments); reception and
clinic admins the whole clinic's. Reception gets no pain score (`baseline_pain` is null).
The per-object operations are also in tests/access/test_object_urls.py's table.
"""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from booking.models import Appointment, AppointmentStatus, Site
from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    SafetyAnswersFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

DAY = date(2026, 12, 2)  # a Wednesday
NOW = datetime(2026, 12, 2, 13, tzinfo=UTC)  # 08:00 in New York
LIST = f"/api/v1/appointments/?date={DAY}"


@pytest.fixture
def clinic(db) -> dict:
    location = LocationFactory(name="Main Street")
    lumbar = Site.objects.get(slug="lumbar")
    people: dict = {"location": location}
    for hour, name, patient in (
        (9, "quinn", {"first_name": "Zelda", "last_name": "Quigley"}),
        (10, "mallory", {"first_name": "Olive", "last_name": "Ownpatient"}),
    ):
        user = UserFactory(username=f"dr.{name}", is_staff=True)
        user.groups.add(Group.objects.get(name=CLINICIAN))
        clinician = ClinicianFactory(user=user, sites=[lumbar], locations=[location])
        appointment = AppointmentFactory(
            site=lumbar,
            clinician=clinician,
            location=location,
            patient=PatientFactory(**patient, email=f"{name}s.patient@example.org"),
            start=datetime.combine(DAY, time(hour), tzinfo=location.zone),
            baseline_pain=8,
        )
        SafetyAnswersFactory(appointment=appointment, allergy_latex=True)
        people[name] = user
        people[f"{name}s"] = appointment
    for role in (RECEPTION, CLINIC_ADMIN):
        user = UserFactory(username=role.replace(" ", "-"), is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        people[role] = user
    people["patient account"] = UserFactory(username="pat")
    return people


def _api(user) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["patient"]["last_name"] for item in response.json()}


@pytest.mark.parametrize(
    ("who", "listed"),
    [
        (RECEPTION, {"Quigley", "Ownpatient"}),
        (CLINIC_ADMIN, {"Quigley", "Ownpatient"}),
        ("quinn", {"Quigley"}),
        ("mallory", {"Ownpatient"}),
    ],
)
def test_the_day_list_shows_each_role_what_it_may_open(clinic, who, listed):
    api = _api(clinic[who])
    assert _names(api.get(LIST)) == listed
    # Asking for a colleague's day by name gives a clinician nothing of it.
    quinn = clinic["quinns"].clinician_id
    assert _names(api.get(f"{LIST}&clinician={quinn}")) == listed & {"Quigley"}


@pytest.mark.parametrize("who", [None, "patient account"])
def test_the_day_list_refuses_those_who_are_not_staff(clinic, who):
    response = _api(clinic[who] if who else None).get(LIST)
    assert response.status_code in {401, 403}
    assert "Quigley" not in response.content.decode()


ACTIONS = {
    "arrive/": {},
    "no-show/": {},
    "cancel/": {"reason": "not mine"},
    "reschedule/": {"start": "2026-12-02T14:00:00-05:00"},
}


def test_a_clinician_opens_and_changes_nothing_of_a_colleagues_appointment(clinic):
    api = _api(clinic["mallory"])
    zeldas = clinic["quinns"]
    before = Appointment.objects.values_list("pk", "status", "start", "clinician_id")
    for path in ("", "messages/"):
        response = api.get(f"/api/v1/appointments/{zeldas.public_id}/{path}")
        assert response.status_code == 404, path
        assert "Quigley" not in response.content.decode()
    for action, body in [*ACTIONS.items(), ("complete/", {"procedure": None})]:
        response = api.post(
            f"/api/v1/appointments/{zeldas.public_id}/{action}", body, format="json"
        )
        assert response.status_code == 404, action
    assert list(Appointment.objects.values_list("pk", "status", "start", "clinician_id")) == list(
        before
    )


def test_a_clinician_opens_and_acts_on_their_own(clinic):
    api = _api(clinic["mallory"])
    own = clinic["mallorys"]
    body = api.get(f"/api/v1/appointments/{own.public_id}/").json()
    assert body["patient"]["last_name"] == "Ownpatient"
    assert body["safety_flags"]
    assert body["baseline_pain"] == 8
    assert api.get(f"/api/v1/appointments/{own.public_id}/messages/").status_code == 200
    with time_machine.travel(datetime.combine(DAY, time(9, 55), tzinfo=own.location.zone)):
        response = api.post(f"/api/v1/appointments/{own.public_id}/arrive/")
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.status == AppointmentStatus.ARRIVED


@pytest.mark.parametrize(("who", "pain"), [(RECEPTION, None), (CLINIC_ADMIN, 8), ("quinn", 8)])
def test_reception_gets_no_pain_score(clinic, who, pain):
    api = _api(clinic[who])
    zeldas = clinic["quinns"]
    assert api.get(f"/api/v1/appointments/{zeldas.public_id}/").json()["baseline_pain"] == pain
    listed = {item["id"]: item for item in api.get(LIST).json()}
    assert listed[str(zeldas.public_id)]["baseline_pain"] == pain
