"""No double booking under real concurrency: parallel clients, their own connections."""

from datetime import UTC, date, datetime
from functools import partial

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test import Client

from booking.models import Appointment
from booking.services import PatientDetails, book_appointment
from tests.races import run_at_once

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
CLIENTS = 20


def _book_concurrently(payloads: list[dict]) -> list[int]:
    """POST every payload at once, each from its own thread and database connection."""

    def book(payload: dict) -> int:
        response = Client().post("/api/v1/appointments/", payload, content_type="application/json")
        return response.status_code

    return run_at_once([partial(book, payload) for payload in payloads])


def _payload(number: int, clinician_id: int) -> dict:
    return {
        "site": "lumbar",
        "start": "2026-12-02T09:00:00-05:00",
        "clinician": clinician_id,
        "patient": {
            "first_name": "Client",
            "last_name": f"Number {number}",
            "date_of_birth": "1980-01-01",
            "email": f"client{number}@example.org",
        },
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_clients_booking_one_slot_get_one_201_and_nineteen_409(clinic, settings):
    adams = clinic["clinicians"][0]
    with time_machine.travel(NOW, tick=False):
        statuses = _book_concurrently([_payload(n, adams.pk) for n in range(CLIENTS)])
    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1)
    assert Appointment.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_two_active_appointments_of_a_clinician_overlap_after_a_race(clinic):
    adams = clinic["clinicians"][0]
    # Overlapping but different starts, so the race is between distinct requests.
    payloads = [_payload(n, adams.pk) for n in range(CLIENTS)]
    for number, payload in enumerate(payloads):
        payload["start"] = ("2026-12-02T09:00:00-05:00", "2026-12-02T09:15:00-05:00")[number % 2]
    with time_machine.travel(NOW, tick=False):
        statuses = _book_concurrently(payloads)
    assert statuses.count(201) == 1
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM booking_appointment a JOIN booking_appointment b
              ON a.clinician_id = b.clinician_id AND a.id < b.id
             AND tstzrange(a.start, a.blocked_until) && tstzrange(b.start, b.blocked_until)
             WHERE a.status IN ('booked', 'arrived', 'completed')
               AND b.status IN ('booked', 'arrived', 'completed')
            """
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_database_refuses_an_overlap_whatever_the_code_path(clinic):
    with time_machine.travel(NOW, tick=False):
        first = book_appointment(
            site=clinic["site"],
            start=datetime(2026, 12, 2, 14, 0, tzinfo=UTC),
            clinician=clinic["clinicians"][0],
            patient=PatientDetails("Ana", "Silva", date(1971, 4, 12), "ana@example.org"),
            source="online",
        )
    overlapping = Appointment(
        site=first.site,
        clinician=first.clinician,
        location=first.location,
        patient=first.patient,
        start=datetime(2026, 12, 2, 14, 30, tzinfo=UTC),
        end=datetime(2026, 12, 2, 15, 15, tzinfo=UTC),
        blocked_until=datetime(2026, 12, 2, 15, 15, tzinfo=UTC),
        source="reception",
    )
    with (
        pytest.raises(IntegrityError, match="appointment_no_overlap_per_clinician"),
        transaction.atomic(),
    ):
        overlapping.save()
    overlapping.status = "cancelled"
    overlapping.save()  # a cancelled appointment holds no time
    assert Appointment.objects.count() == 2
