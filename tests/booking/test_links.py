"""Manage links are keys: one purpose, one appointment, and they expire with the visit."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing

from booking.links import MANAGE_SALT, appointment_for_manage_token, manage_token
from booking.models import AppointmentStatus
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
VISIT = datetime(2026, 6, 3, 14, tzinfo=UTC)  # Wednesday 10:00 in New York


@pytest.fixture
def appointment():
    return AppointmentFactory(start=VISIT, site__duration_minutes=30)


def test_a_token_names_its_appointment(appointment):
    token = manage_token(appointment)

    found = appointment_for_manage_token(token, now=NOW)

    assert found == appointment
    assert found.public_id == appointment.public_id


def test_a_token_carries_the_public_id_not_the_database_id(appointment):
    token = manage_token(appointment)

    assert signing.loads(token, salt=MANAGE_SALT) == str(appointment.public_id)


def test_it_uses_the_current_time_by_default(appointment):
    token = manage_token(appointment)

    with time_machine.travel(NOW, tick=False):
        assert appointment_for_manage_token(token) == appointment
    with time_machine.travel(appointment.end, tick=False):
        assert appointment_for_manage_token(token) is None


def _tampered(token: str, index: int) -> str:
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


@pytest.mark.parametrize("index", [0, 5, -1, -5])
def test_a_tampered_token_names_nothing(appointment, index):
    token = manage_token(appointment)

    assert appointment_for_manage_token(_tampered(token, index), now=NOW) is None


@pytest.mark.parametrize("token", ["", "nonsense", "a:b:c", "::", "x" * 500])
def test_a_malformed_token_names_nothing(appointment, token):
    assert appointment_for_manage_token(token, now=NOW) is None


def test_a_token_for_another_purpose_names_nothing(appointment):
    token = signing.dumps(str(appointment.public_id), salt="followup.checkin")

    assert appointment_for_manage_token(token, now=NOW) is None


def test_a_token_signed_without_a_salt_names_nothing(appointment):
    token = signing.dumps(str(appointment.public_id))

    assert appointment_for_manage_token(token, now=NOW) is None


def test_a_token_signed_with_another_key_names_nothing(appointment):
    token = signing.dumps(str(appointment.public_id), salt=MANAGE_SALT, key="another-secret")

    assert appointment_for_manage_token(token, now=NOW) is None


def test_a_token_for_an_unknown_appointment_names_nothing(appointment):
    token = signing.dumps(str(uuid.uuid4()), salt=MANAGE_SALT)

    assert appointment_for_manage_token(token, now=NOW) is None


def test_a_token_for_a_deleted_appointment_names_nothing(appointment):
    token = manage_token(appointment)
    appointment.delete()

    assert appointment_for_manage_token(token, now=NOW) is None


def test_a_token_works_until_the_visit_ends(appointment):
    token = manage_token(appointment)
    end = VISIT + timedelta(minutes=30)

    assert appointment_for_manage_token(token, now=VISIT) == appointment
    assert appointment_for_manage_token(token, now=end - timedelta(seconds=1)) == appointment
    assert appointment_for_manage_token(token, now=end) is None
    assert appointment_for_manage_token(token, now=end + timedelta(days=30)) is None


def test_moving_the_visit_later_extends_the_token(appointment):
    token = manage_token(appointment)
    after_the_first_end = VISIT + timedelta(hours=1)
    assert appointment_for_manage_token(token, now=after_the_first_end) is None

    appointment.start += timedelta(days=1)
    appointment.end += timedelta(days=1)
    appointment.blocked_until += timedelta(days=1)
    appointment.save()

    assert appointment_for_manage_token(token, now=after_the_first_end) == appointment


def test_a_token_for_a_cancelled_visit_still_shows_it_until_its_end(appointment):
    token = manage_token(appointment)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()

    found = appointment_for_manage_token(token, now=NOW)

    assert found == appointment
    assert found.status == AppointmentStatus.CANCELLED


def test_a_token_for_one_appointment_never_yields_another(appointment):
    others = [
        AppointmentFactory(start=VISIT, patient=appointment.patient),
        AppointmentFactory(start=VISIT + timedelta(days=1)),
    ]
    everyone = [appointment, *others]

    tokens = [manage_token(each) for each in everyone]

    assert len(set(tokens)) == len(everyone)
    for each, token in zip(everyone, tokens, strict=True):
        assert appointment_for_manage_token(token, now=NOW) == each


def test_the_token_loads_what_the_manage_page_needs_in_one_query(
    appointment, django_assert_num_queries
):
    token = manage_token(appointment)

    with django_assert_num_queries(1):
        found = appointment_for_manage_token(token, now=NOW)
        assert found.site.name
        assert found.clinician.display_name
        assert found.location.zone
        assert found.patient.first_name
