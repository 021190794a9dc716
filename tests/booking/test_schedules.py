"""Reception's schedule pages: weekly hours, exceptions and blocks, with their conflicts;
and whether a location is staffed at a moment."""

from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from booking.models import (
    AppointmentStatus,
    AuditEvent,
    Block,
    ScheduleException,
    WorkingHours,
)
from booking.schedules import (
    BlockConflicts,
    add_block,
    add_schedule_exception,
    add_working_hours,
    staffed_at,
)
from tests.factories import (
    AppointmentFactory,
    BlockFactory,
    LocationFactory,
    ScheduleExceptionFactory,
)

pytestmark = pytest.mark.usefixtures("clock")

NOW = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 in New York


@pytest.fixture
def adams(clinic):
    return clinic["clinicians"][0]


@pytest.fixture
def uptown(adams):
    location = LocationFactory(name="Uptown")
    adams.locations.add(location)
    return location


def _urls(clinician_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/desk/schedules/"),
        ("get", f"/desk/schedules/{clinician_id}/"),
        ("post", f"/desk/schedules/{clinician_id}/hours/"),
        ("post", f"/desk/schedules/{clinician_id}/exceptions/"),
        ("post", f"/desk/schedules/{clinician_id}/blocks/"),
    ]


def test_anonymous_users_are_sent_to_log_in(client, adams):
    for method, url in _urls(adams.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize("who", ["patient_user", "clinician_user"])
def test_patients_and_clinicians_may_not_edit_schedules(client, adams, who, request):
    client.force_login(request.getfixturevalue(who))
    for method, url in _urls(adams.pk):
        assert getattr(client, method)(url).status_code == 403, url
    assert WorkingHours.objects.filter(clinician=adams).count() == 5


@pytest.mark.parametrize("who", ["receptionist", "clinic_admin"])
def test_reception_and_admins_see_the_schedules(client, adams, who, request):
    client.force_login(request.getfixturevalue(who))
    listing = client.get("/desk/schedules/")
    assert listing.status_code == 200
    assert "Dr. Adams" in listing.content.decode()
    page = client.get(reverse("desk:schedule", args=[adams.pk]))
    assert page.status_code == 200
    assert "8:00 AM\u20135:00 PM" in page.content.decode()


def test_an_unknown_clinician_is_not_found(client, receptionist):
    client.force_login(receptionist)
    assert client.get("/desk/schedules/999999/").status_code == 404


def test_adding_hours_records_an_audit_event(client, receptionist, adams, clinic):
    client.force_login(receptionist)
    response = client.post(
        f"/desk/schedules/{adams.pk}/hours/",
        {
            "location": clinic["location"].pk,
            "weekday": 5,
            "start_time": "09:00",
            "end_time": "13:00",
        },
    )
    assert response.status_code == 302
    assert WorkingHours.objects.filter(clinician=adams, weekday=5).count() == 1
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.CHANGE
    assert event.user == receptionist
    assert "Saturday" in event.summary


def test_hours_overlapping_another_location_are_refused(client, receptionist, adams, uptown):
    client.force_login(receptionist)
    response = client.post(
        f"/desk/schedules/{adams.pk}/hours/",
        {"location": uptown.pk, "weekday": 0, "start_time": "16:00", "end_time": "19:00"},
    )
    assert response.status_code == 400
    assert "These hours overlap 8:00 AM to 5:00 PM on Monday." in response.content.decode()
    assert not WorkingHours.objects.filter(location=uptown).exists()
    assert not AuditEvent.objects.exists()


def test_hours_touching_at_another_location_are_allowed(adams, uptown):
    hours = add_working_hours(
        clinician=adams, location=uptown, weekday=0, start_time=time(17), end_time=time(19)
    )
    assert hours.pk is not None


def test_hours_ending_before_they_start_are_refused(adams, clinic):
    with pytest.raises(ValidationError):
        add_working_hours(
            clinician=adams,
            location=clinic["location"],
            weekday=5,
            start_time=time(12),
            end_time=time(9),
        )


def test_hours_at_a_location_the_clinician_does_not_work_at_are_refused(adams):
    elsewhere = LocationFactory(name="Elsewhere")
    with pytest.raises(ValidationError):
        add_working_hours(
            clinician=adams, location=elsewhere, weekday=5, start_time=time(9), end_time=time(12)
        )


def test_removing_hours_checks_they_belong_to_the_clinician(client, receptionist, clinic):
    adams, brown = clinic["clinicians"]
    browns = WorkingHours.objects.filter(clinician=brown).first()
    client.force_login(receptionist)
    response = client.post(f"/desk/schedules/{adams.pk}/hours/{browns.pk}/remove/")
    assert response.status_code == 404
    assert WorkingHours.objects.filter(pk=browns.pk).exists()
    own = WorkingHours.objects.filter(clinician=adams).first()
    response = client.post(f"/desk/schedules/{adams.pk}/hours/{own.pk}/remove/")
    assert response.status_code == 302
    assert not WorkingHours.objects.filter(pk=own.pk).exists()
    assert AuditEvent.objects.filter(summary__contains="Removed hours").exists()


def test_a_day_off_and_changed_hours(client, receptionist, adams, clinic, uptown):
    client.force_login(receptionist)
    response = client.post(
        f"/desk/schedules/{adams.pk}/exceptions/",
        {"location": clinic["location"].pk, "date": "2026-12-07", "day_off": "on"},
    )
    assert response.status_code == 302
    day_off = ScheduleException.objects.get()
    assert day_off.start_time is None
    assert day_off.end_time is None
    response = client.post(
        f"/desk/schedules/{adams.pk}/exceptions/",
        {
            "location": uptown.pk,
            "date": "2026-12-07",
            "start_time": "10:00",
            "end_time": "14:00",
            "reason": "Covering",
        },
    )
    assert response.status_code == 302
    assert ScheduleException.objects.count() == 2
    page = client.get(f"/desk/schedules/{adams.pk}/").content.decode()
    assert "Day off" in page
    assert "10:00 AM\u20132:00 PM" in page


def test_an_exception_needs_times_or_day_off(client, receptionist, adams, clinic):
    client.force_login(receptionist)
    response = client.post(
        f"/desk/schedules/{adams.pk}/exceptions/",
        {"location": clinic["location"].pk, "date": "2026-12-07", "start_time": "10:00"},
    )
    assert response.status_code == 400
    assert not ScheduleException.objects.exists()


def test_exception_hours_overlapping_on_the_same_date_are_refused(adams, clinic, uptown):
    add_schedule_exception(
        clinician=adams,
        location=clinic["location"],
        day=date(2026, 12, 7),
        start_time=time(8),
        end_time=time(12),
    )
    with pytest.raises(ValidationError, match="overlap"):
        add_schedule_exception(
            clinician=adams,
            location=uptown,
            day=date(2026, 12, 7),
            start_time=time(11),
            end_time=time(15),
        )


def test_a_block_without_appointments_is_added_in_the_locations_zone(client, receptionist, adams):
    client.force_login(receptionist)
    response = client.post(
        f"/desk/schedules/{adams.pk}/blocks/",
        {
            "start": "2026-12-07T12:00",
            "end": "2026-12-07T13:00",
            "kind": Block.Kind.MEETING,
            "reason": "Team meeting",
        },
    )
    assert response.status_code == 302
    block = Block.objects.get()
    assert block.start == datetime(2026, 12, 7, 17, tzinfo=UTC)  # 12:00 EST
    assert block.end == datetime(2026, 12, 7, 18, tzinfo=UTC)
    assert AuditEvent.objects.filter(summary__contains="Added block").exists()


def test_a_block_over_booked_appointments_needs_confirmation(client, receptionist, adams, clinic):
    booked = AppointmentFactory(
        site=clinic["site"],
        clinician=adams,
        location=clinic["location"],
        start=datetime(2026, 12, 7, 15, tzinfo=UTC),  # 10:00 in New York
    )
    AppointmentFactory(  # cancelled: holds nothing
        site=clinic["site"],
        clinician=adams,
        location=clinic["location"],
        start=datetime(2026, 12, 7, 16, tzinfo=UTC),
        status=AppointmentStatus.CANCELLED,
    )
    form = {
        "start": "2026-12-07T09:00",
        "end": "2026-12-07T12:00",
        "kind": Block.Kind.TIME_OFF,
        "reason": "Dentist",
    }
    client.force_login(receptionist)
    refused = client.post(f"/desk/schedules/{adams.pk}/blocks/", form)
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "overlaps 1 booked appointment" in page
    assert f"/desk/appointments/{booked.public_id}/" in page
    assert str(booked.patient) in page
    assert 'name="confirm"' in page
    assert not Block.objects.exists()

    confirmed = client.post(f"/desk/schedules/{adams.pk}/blocks/", {**form, "confirm": "on"})
    assert confirmed.status_code == 302
    assert Block.objects.filter(clinician=adams).count() == 1
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED  # to be moved by reception
    event = AuditEvent.objects.get(summary__contains="Added block")
    assert "1 booked appointment" in event.summary


def test_add_block_raises_with_the_appointments(adams, clinic):
    booked = AppointmentFactory(
        site=clinic["site"],
        clinician=adams,
        location=clinic["location"],
        start=datetime(2026, 12, 7, 15, tzinfo=UTC),
    )
    start, end = datetime(2026, 12, 7, 15, 30, tzinfo=UTC), datetime(2026, 12, 7, 17, tzinfo=UTC)
    with pytest.raises(BlockConflicts) as raised:
        add_block(clinician=adams, start=start, end=end, kind="other", reason="x", confirm=False)
    assert raised.value.appointments == [booked]
    block = add_block(clinician=adams, start=start, end=end, kind="other", reason="x", confirm=True)
    assert block.pk is not None


def test_a_block_ending_before_it_starts_is_refused(client, receptionist, adams):
    client.force_login(receptionist)
    response = client.post(
        f"/desk/schedules/{adams.pk}/blocks/",
        {"start": "2026-12-07T12:00", "end": "2026-12-07T11:00", "kind": "other", "reason": "x"},
    )
    assert response.status_code == 400
    assert not Block.objects.exists()


def test_removing_a_block(client, clinic_admin, adams, clinic):
    block = BlockFactory(
        clinician=adams,
        start=datetime(2026, 12, 7, 15, tzinfo=UTC),
        end=datetime(2026, 12, 7, 16, tzinfo=UTC),
    )
    other = BlockFactory(
        clinician=clinic["clinicians"][1],
        start=datetime(2026, 12, 7, 15, tzinfo=UTC),
        end=datetime(2026, 12, 7, 16, tzinfo=UTC),
    )
    client.force_login(clinic_admin)
    assert client.post(f"/desk/schedules/{adams.pk}/blocks/{other.pk}/remove/").status_code == 404
    assert client.post(f"/desk/schedules/{adams.pk}/blocks/{block.pk}/remove/").status_code == 302
    assert list(Block.objects.all()) == [other]


class TestStaffedAt:
    """Main Street: Adams and Brown, Mon-Fri 08:00-17:00 in New York."""

    @pytest.mark.parametrize(
        ("moment", "staffed"),
        [
            (NOW, True),  # Monday 09:00
            (datetime(2026, 11, 30, 12, 59, tzinfo=UTC), False),  # Monday 07:59
            (datetime(2026, 11, 30, 22, tzinfo=UTC), False),  # Monday 17:00: the end is out
            (datetime(2026, 12, 5, 15, tzinfo=UTC), False),  # Saturday 10:00
        ],
    )
    def test_by_the_weekly_hours_in_the_locations_zone(self, clinic, moment, staffed):
        assert staffed_at(clinic["location"], moment) is staffed

    def test_not_another_location(self, clinic):
        assert staffed_at(LocationFactory(name="Uptown"), NOW) is False

    def test_one_clinician_off_leaves_it_staffed_both_off_does_not(self, clinic):
        adams, brown = clinic["clinicians"]
        for clinician, staffed in ((adams, True), (brown, False)):
            ScheduleExceptionFactory(
                clinician=clinician, location=clinic["location"], date=date(2026, 11, 30)
            )
            assert staffed_at(clinic["location"], NOW) is staffed

    def test_exception_hours_replace_the_weekly_ones(self, clinic):
        adams, brown = clinic["clinicians"]
        monday = date(2026, 11, 30)
        ScheduleExceptionFactory(clinician=brown, location=clinic["location"], date=monday)
        ScheduleExceptionFactory(
            clinician=adams,
            location=clinic["location"],
            date=monday,
            start_time=time(13),
            end_time=time(15),
        )
        assert staffed_at(clinic["location"], NOW) is False  # 09:00
        assert staffed_at(clinic["location"], datetime(2026, 11, 30, 19, tzinfo=UTC)) is True

    def test_not_by_clinicians_no_longer_active(self, clinic):
        for clinician in clinic["clinicians"]:
            clinician.is_active = False
            clinician.save(update_fields=["is_active"])
        assert staffed_at(clinic["location"], NOW) is False
