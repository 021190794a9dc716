"""What a patient typed into the booking pages is kept an hour at most, and not at all once
booked (issue 19, item 6: drafts kept birth dates and safety answers for 14 days)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session

from booking.tasks import clear_expired_sessions_task
from tests.booking.test_booking_pages import (
    ANA,
    DETAILS,
    REVIEW,
    choose_time,
    form_values,
    to_review,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
TYPED = ("1971-04-12", "ana@example.org", "860 555 0123", "not_applicable")


@pytest.fixture
def adams(clinic):
    return clinic["clinicians"][0]


def stored() -> str:
    """Every session as the server stores it, decoded."""
    return " ".join(str(session.get_decoded()) for session in Session.objects.all())


def test_a_draft_left_for_more_than_an_hour_is_gone(client, adams, clock):
    choose_time(client, adams)
    client.post(DETAILS, ANA)
    assert all(value in stored() for value in TYPED)

    clock.shift(timedelta(hours=1, minutes=1))
    details = client.get(DETAILS)

    assert details.status_code == 302  # the chosen time went with the rest: start again
    assert details["Location"].startswith("/book/lumbar/")
    assert client.get(REVIEW).status_code == 302
    clear_expired_sessions_task()  # beat runs it every hour
    assert not any(value in stored() for value in TYPED)


def test_a_draft_is_ignored_after_an_hour_even_in_a_longer_session(client, adams, clock):
    choose_time(client, adams)
    client.post(DETAILS, ANA)
    session = client.session
    session.set_expiry(timedelta(days=14))  # as a staff member's session would last
    session.save()

    clock.shift(timedelta(hours=1, minutes=1))

    assert client.get(DETAILS).status_code == 302
    assert not any(value in stored() for value in TYPED)


def test_the_session_of_a_patient_ends_an_hour_after_their_last_step(client, adams, clock):
    choose_time(client, adams)
    client.post(DETAILS, ANA)

    session = Session.objects.get(session_key=client.session.session_key)

    assert session.expire_date <= NOW + timedelta(hours=1)


def test_within_the_hour_the_draft_is_all_there(client, adams, clock):
    choose_time(client, adams)
    client.post(DETAILS, ANA)
    clock.shift(timedelta(minutes=50))

    values = form_values(client.get(DETAILS))

    assert {name: values.get(name, "") for name in ANA} == ANA
    client.post(DETAILS, values)  # each step starts the hour again
    clock.shift(timedelta(minutes=50))
    assert client.get(REVIEW).status_code == 200


def test_once_booked_nothing_typed_stays_in_the_session(
    client, adams, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post(REVIEW, {"key": to_review(client, adams)})

    assert booked["Location"].startswith("/booked/")
    assert not any(value in stored() for value in TYPED)
