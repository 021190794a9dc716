"""A clinician's private calendar feed: the page with its link, revoking it, the feed."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from icalendar import Calendar

from booking.feeds import initials
from booking.ics import calendar_uid
from booking.models import AppointmentStatus, AuditEvent, CalendarFeed, Clinician, Site
from tests.factories import AppointmentFactory, ClinicianFactory, LocationFactory, PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 12, 10, 17, tzinfo=UTC)


@pytest.fixture
def doctor(clinician_user: User) -> Clinician:
    return ClinicianFactory(user=clinician_user, display_name="Dr. Patel")


def _token(client, user: User) -> str:
    client.force_login(user)
    response = client.get("/desk/feed/")
    assert response.status_code == 200
    return response.context["feed"].token


def _feed(client, token: str):
    client.logout()
    return client.get(f"/feeds/{token}.ics")


def test_the_first_visit_makes_a_secret_link(client, clinician_user, doctor):
    token = _token(client, clinician_user)
    assert len(token) >= 43  # secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.get(clinician=doctor)
    assert feed.token == token
    page = client.get("/desk/feed/").content.decode()
    assert f"/feeds/{token}.ics" in page
    assert CalendarFeed.objects.get().token == token  # the same link on every visit


def test_staff_who_are_not_clinicians_have_no_feed(client, receptionist):
    client.force_login(receptionist)
    response = client.get("/desk/feed/")
    assert response.status_code == 200
    assert "not linked to a clinician" in response.content.decode()
    assert not CalendarFeed.objects.exists()
    assert client.post("/desk/feed/").status_code == 200
    assert not CalendarFeed.objects.exists()


def test_revoking_makes_a_new_link_and_kills_the_old(client, clinician_user, doctor):
    old = _token(client, clinician_user)
    response = client.post("/desk/feed/")
    assert response.status_code == 302
    new = CalendarFeed.objects.get(clinician=doctor).token
    assert new != old
    assert AuditEvent.objects.filter(
        user=clinician_user, action=AuditEvent.Action.CHANGE, object_type="CalendarFeed"
    ).exists()
    assert _feed(client, old).status_code == 404
    assert _feed(client, new).status_code == 200


@pytest.mark.parametrize("token", ["nope", "x" * 43, ""])
def test_unknown_tokens_are_404(client, clinician_user, doctor, token):
    _token(client, clinician_user)
    assert _feed(client, token).status_code == 404


def test_an_inactive_clinicians_feed_is_404(client, clinician_user, doctor):
    token = _token(client, clinician_user)
    Clinician.objects.filter(pk=doctor.pk).update(is_active=False)
    assert _feed(client, token).status_code == 404


def test_the_feed_is_read_only(client, clinician_user, doctor):
    token = _token(client, clinician_user)
    client.logout()
    assert client.post(f"/feeds/{token}.ics").status_code == 405


def test_the_feed_lists_upcoming_visits_with_initials_and_site_only(client, clinician_user, doctor):
    lumbar = Site.objects.get(slug="lumbar")
    location = LocationFactory(name="Main Street")
    alice = PatientFactory(
        first_name="alice", last_name="Smith", email="alice@example.com", phone="+18605550123"
    )
    soon = AppointmentFactory(
        clinician=doctor, patient=alice, site=lumbar, location=location, start=NOW + timedelta(1)
    )
    arrived = AppointmentFactory(
        clinician=doctor,
        site=lumbar,
        start=NOW - timedelta(minutes=10),
        status=AppointmentStatus.ARRIVED,
    )
    AppointmentFactory(clinician=doctor, start=NOW + timedelta(2), status="cancelled")
    AppointmentFactory(clinician=doctor, start=NOW - timedelta(days=1), status="completed")
    AppointmentFactory(clinician=doctor, start=NOW + timedelta(days=91))  # beyond 90 days
    AppointmentFactory(start=NOW + timedelta(days=1))  # another clinician's

    response = _feed(client, _token(client, clinician_user))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    for private in ("alice", "Alice", "Smith", "alice@example.com", "555"):
        assert private not in body
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert [str(event["UID"]) for event in events] == [calendar_uid(arrived), calendar_uid(soon)]
    event = events[1]
    assert str(event["SUMMARY"]) == "A.S. \N{EN DASH} Lumbar"
    assert event.decoded("DTSTART") == soon.start
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == soon.end
    assert event["DTSTART"].to_ical().endswith(b"Z")
    assert str(event["LOCATION"]) == "Main Street"
    assert "DESCRIPTION" not in event
    assert "ATTENDEE" not in event


def test_the_uid_is_stable_when_a_visit_moves(client, clinician_user, doctor):
    appointment = AppointmentFactory(clinician=doctor, start=NOW + timedelta(days=1))
    token = _token(client, clinician_user)
    first = Calendar.from_ical(_feed(client, token).content).walk("VEVENT")[0]
    appointment.start += timedelta(hours=2)
    appointment.end += timedelta(hours=2)
    appointment.blocked_until += timedelta(hours=2)
    appointment.calendar_sequence += 1
    appointment.save()
    second = Calendar.from_ical(_feed(client, token).content).walk("VEVENT")[0]
    assert str(first["UID"]) == str(second["UID"]) == calendar_uid(appointment)
    assert second.decoded("DTSTART") == appointment.start
    assert int(second["SEQUENCE"]) == 1


def test_fetching_the_feed_is_audited(client, clinician_user, doctor):
    token = _token(client, clinician_user)
    client.logout()
    client.get(f"/feeds/{token}.ics", REMOTE_ADDR="198.51.100.4")
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW, object_type="CalendarFeed")
    assert event.user is None
    assert event.ip_address == "198.51.100.4"
    assert "Dr. Patel" in event.summary


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [("Ann", "Smith", "A.S."), ("  zoë", "ómar", "Z.Ó."), ("", "Smith", "S."), ("", " ", "?")],
)
def test_initials(first, last, expected):
    assert initials(first, last) == expected


def test_the_admin_shows_feeds_without_their_token(client, clinic_admin, doctor):
    feed = CalendarFeed.objects.create(clinician=doctor, token="secret-token-value")
    client.force_login(clinic_admin)
    assert "secret-token-value" not in client.get("/admin/booking/calendarfeed/").content.decode()
    detail = client.get(f"/admin/booking/calendarfeed/{feed.pk}/change/")
    assert detail.status_code == 200
    assert "secret-token-value" not in detail.content.decode()
    # Deleting revokes: the clinician's page makes a new link on the next visit.
    client.post(f"/admin/booking/calendarfeed/{feed.pk}/delete/", {"post": "yes"})
    assert not CalendarFeed.objects.exists()
