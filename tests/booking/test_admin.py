"""The admin forms turn bad schedule input into form errors and save nothing."""

import pytest

from booking.models import Location, WorkingHours
from tests.factories import ClinicianFactory, LocationFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, clinic_admin):
    clinic_admin.is_superuser = True
    clinic_admin.save()
    client.force_login(clinic_admin)
    return client


def _inline_management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_it_rejects_an_unknown_time_zone(admin_client):
    response = admin_client.post(
        "/admin/booking/location/add/",
        {"name": "North", "address": "2 Elm St", "phone": "+18605550101", "time_zone": "EST5"},
    )
    assert response.status_code == 200
    assert "is not a known IANA time zone" in response.content.decode()
    assert not Location.objects.exists()


def test_it_rejects_hours_that_end_before_they_start(admin_client):
    clinician = ClinicianFactory()
    location = LocationFactory()
    response = admin_client.post(
        "/admin/booking/workinghours/add/",
        {
            "clinician": clinician.pk,
            "location": location.pk,
            "weekday": 0,
            "start_time": "17:00",
            "end_time": "08:00",
        },
    )
    assert "The end must be after the start." in response.content.decode()
    assert not WorkingHours.objects.exists()


def test_it_rejects_hours_overlapping_saved_hours_on_the_same_day(admin_client):
    existing = WorkingHoursFactory(weekday=2)
    response = admin_client.post(
        "/admin/booking/workinghours/add/",
        {
            "clinician": existing.clinician.pk,
            "location": LocationFactory().pk,
            "weekday": 2,
            "start_time": "16:00",
            "end_time": "18:00",
        },
    )
    assert "These hours overlap 8:00 AM to 5:00 PM on Wednesday." in response.content.decode()
    assert WorkingHours.objects.count() == 1


def test_it_rejects_overlapping_rows_submitted_together(admin_client):
    clinician = ClinicianFactory(display_name="Dr. Overlap")
    location = LocationFactory()
    rows = {
        "working_hours-0-location": location.pk,
        "working_hours-0-weekday": 1,
        "working_hours-0-start_time": "08:00",
        "working_hours-0-end_time": "12:00",
        "working_hours-1-location": location.pk,
        "working_hours-1-weekday": 1,
        "working_hours-1-start_time": "11:00",
        "working_hours-1-end_time": "15:00",
    }
    response = admin_client.post(
        f"/admin/booking/clinician/{clinician.pk}/change/",
        {
            "user": clinician.user.pk,
            "display_name": "Dr. Overlap",
            "is_active": "on",
            **_inline_management("working_hours", 2),
            **_inline_management("schedule_exceptions", 0),
            **rows,
        },
    )
    assert response.status_code == 200
    assert "Working hours overlap on Tuesday." in response.content.decode()
    assert not WorkingHours.objects.exists()


def test_touching_intervals_are_allowed(admin_client):
    existing = WorkingHoursFactory(weekday=3, start_time="08:00", end_time="12:00")
    response = admin_client.post(
        "/admin/booking/workinghours/add/",
        {
            "clinician": existing.clinician.pk,
            "location": existing.location.pk,
            "weekday": 3,
            "start_time": "12:00",
            "end_time": "17:00",
        },
    )
    assert response.status_code == 302
    assert WorkingHours.objects.count() == 2
