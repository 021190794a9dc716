"""One client cannot flood the clinic's calendar or anyone's inbox (issue 19, item 3).

As reproduced: one anonymous client booked every free time of a day through the pages,
32 bookings in 34 s with no 429, each emailing whatever address was typed. Now the pages'
booking and waitlist POSTs count against the public API's per-client limit (the same
counter), a person holds at most ONLINE_BOOKINGS_PER_SITE future online bookings of a
site, and appointment emails to one address are capped by APPOINTMENT_EMAIL_RATE.
"""

from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from booking.api.throttling import PublicRateThrottle
from booking.models import Appointment, AppointmentSource, Patient, WaitlistEntry
from booking.rates import RecipientRateThrottle
from booking.services import PatientDetails, book_appointment, cancel_appointment
from tests.booking.test_booking_pages import ANA, DETAILS, REVIEW, choose_time, review_key, text
from tests.outbox import then_send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY = "2026-12-02T{}:00-05:00"


@pytest.fixture
def public_rate(monkeypatch):
    def set_rate(rate: str | None) -> None:
        monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": rate})

    return set_rate


def person(number: int, **changes: str) -> dict[str, str]:
    """Someone new to the clinic (the flood's made-up patients), or the same one again."""
    return {
        **ANA,
        "patient-first_name": f"Flood{number}",
        "patient-date_of_birth": f"19{50 + number}-01-01",
        "patient-email": f"flood{number}@example.org",
        **changes,
    }


def book_online(client, clinic, at: str, details: dict[str, str], clinician: int = 0):
    """Pick `at` (HH:MM on Wednesday), give `details`, confirm: the confirm's response."""
    choose_time(client, clinic["clinicians"][clinician], WEDNESDAY.format(at))
    assert client.post(DETAILS, details)["Location"] == REVIEW
    return client.post(REVIEW, {"key": review_key(client.get(REVIEW))})


def join_waitlist(client, number: int):
    return client.post(
        "/book/lumbar/waitlist/",
        {
            "first_name": f"Wait{number}",
            "last_name": "Listed",
            "date_of_birth": f"19{50 + number}-01-01",
            "email": f"wait{number}@example.org",
            "consent_email": "on",
        },
    )


class TestTheSharedThrottle:
    def test_a_flood_of_page_bookings_from_one_client_is_stopped_with_429(
        self, clinic, public_rate
    ):
        public_rate("3/min")
        flood = [
            book_online(Client(), clinic, at, person(number))
            for number, at in enumerate(["08:00", "09:00", "10:00", "11:00"])
        ]

        assert [response.status_code for response in flood] == [302, 302, 302, 429]
        assert Appointment.objects.count() == 3
        refused = flood[-1]
        assert int(refused["Retry-After"]) > 0
        page = text(refused)
        assert "Too many requests" in page
        assert "what you typed is still there" in page

    def test_the_pages_and_the_api_count_against_one_limit(self, clinic, public_rate):
        public_rate("3/min")
        api = APIClient()
        assert [api.get("/api/v1/sites/").status_code for _ in range(2)] == [200, 200]

        assert book_online(Client(), clinic, "09:00", person(1)).status_code == 302
        assert book_online(Client(), clinic, "10:00", person(2)).status_code == 429
        assert api.get("/api/v1/sites/").status_code == 429
        # Another client has its own count.
        other = Client(REMOTE_ADDR="203.0.113.9")
        assert book_online(other, clinic, "10:00", person(2)).status_code == 302

    def test_a_flood_of_waitlist_joins_is_stopped_with_429(self, client, clinic, public_rate):
        public_rate("2/min")

        statuses = [join_waitlist(client, number).status_code for number in range(3)]

        assert statuses == [302, 302, 429]
        assert WaitlistEntry.objects.count() == 2
        assert not Patient.objects.filter(first_name="Wait2").exists()

    def test_a_rate_of_0_turns_it_off(self, clinic, public_rate):
        public_rate(None)
        flood = [
            book_online(Client(), clinic, at, person(number))
            for number, at in enumerate(["08:00", "09:00", "10:00", "11:00", "12:00"])
        ]
        assert {response.status_code for response in flood} == {302}


class TestOnlineBookingsPerPerson:
    def test_a_third_future_online_booking_of_one_site_is_a_clear_error(self, client, clinic):
        for at in ("08:00", "09:00"):
            assert book_online(client, clinic, at, ANA).status_code == 302

        third = book_online(client, clinic, "10:00", ANA)

        assert third.status_code == 400
        page = text(third)
        assert "You already have 2 lumbar consults booked online" in page
        assert "error-summary" in page
        assert Appointment.objects.count() == 2

    def test_the_api_answers_400_with_the_same_words(self, clinic, settings):
        settings.ONLINE_BOOKINGS_PER_SITE = 1
        api = APIClient()
        payload = {
            "site": "lumbar",
            "start": WEDNESDAY.format("09:00"),
            "patient": {
                "first_name": "Ana",
                "last_name": "Silva",
                "date_of_birth": "1971-04-12",
                "email": "ana@example.org",
            },
        }
        assert api.post("/api/v1/appointments/", payload, format="json").status_code == 201

        again = api.post(
            "/api/v1/appointments/",
            {**payload, "start": WEDNESDAY.format("11:00")},
            format="json",
        )

        assert again.status_code == 400
        assert "already have 1 lumbar consult booked online" in again.json()["patient"][0]
        assert Appointment.objects.count() == 1

    def test_cancelled_visits_reception_bookings_and_other_people_do_not_count(
        self, client, clinic
    ):
        first = book_online(client, clinic, "08:00", ANA)
        assert first.status_code == 302
        cancel_appointment(appointment=Appointment.objects.get(), by_patient=True)
        book_appointment(
            site=clinic["site"],
            start=datetime(2026, 12, 3, 14, tzinfo=UTC),
            patient=PatientDetails("Ana", "Silva", date(1971, 4, 12), email="ana@example.org"),
            source=AppointmentSource.RECEPTION,
        )

        assert book_online(client, clinic, "09:00", ANA).status_code == 302
        assert book_online(client, clinic, "10:00", ANA).status_code == 302
        assert book_online(client, clinic, "11:00", person(1)).status_code == 302

    def test_a_cap_of_0_turns_it_off(self, client, clinic, settings):
        settings.ONLINE_BOOKINGS_PER_SITE = 0
        for at in ("08:00", "09:00", "10:00"):
            assert book_online(client, clinic, at, ANA).status_code == 302


class TestEmailsToOneAddress:
    def test_confirmations_to_one_address_stop_at_the_rate_and_the_bookings_stand(
        self, clinic, monkeypatch
    ):
        monkeypatch.setattr(RecipientRateThrottle, "THROTTLE_RATES", {"appointment_email": "2/day"})
        victim = "someone.else@example.org"
        with then_send_due():
            for number, at in enumerate(["08:00", "09:00", "10:00"]):
                response = book_online(
                    Client(), clinic, at, person(number, **{"patient-email": victim})
                )
                assert response.status_code == 302
            book_online(Client(), clinic, "11:00", person(7))

        assert Appointment.objects.count() == 4
        recipients = [message.to for message in mail.outbox]
        assert recipients.count([victim]) == 2
        assert ["flood7@example.org"] in recipients

    def test_the_rate_is_counted_per_address_whatever_its_case(self, clinic, monkeypatch):
        monkeypatch.setattr(RecipientRateThrottle, "THROTTLE_RATES", {"appointment_email": "1/day"})
        with then_send_due():
            book_online(Client(), clinic, "08:00", person(1, **{"patient-email": "X@example.org"}))
            book_online(Client(), clinic, "09:00", person(2, **{"patient-email": "x@EXAMPLE.org"}))

        assert len(mail.outbox) == 1
