"""Booking keys are no one else's way in (issue 19, item 1).

A key that books once (the review form's, the API's Idempotency-Key, a waitlist offer's)
must never hand its booking to another caller: the review page takes only its own
session's key, an API key answers only the same client sending the same request, and a
waitlist offer's key cannot be computed from the offer's id.
"""

import uuid
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from booking.links import manage_token
from booking.models import Appointment, WaitlistOffer
from booking.offer_acceptance import accept_offer, booking_key
from booking.services import cancel_appointment
from tests.booking.test_api_public import booking
from tests.booking.test_booking_pages import ANA, REVIEW, text, to_review
from tests.factories import PatientFactory, WaitlistEntryFactory
from tests.outbox import then_send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
# The namespace the offer keys were derived from, as it stood in the source.
PUBLISHED_NAMESPACE = uuid.UUID("6f1f6a52-3c1d-4a8e-9a39-5f3c0e0b7a11")
APPOINTMENTS = "/api/v1/appointments/"


@pytest.fixture
def adams(clinic):
    return clinic["clinicians"][0]


def _accepted_offer(clinic) -> Appointment:
    """A patient on the waitlist takes a freed Wednesday 09:00 through their offer."""
    freed = Appointment.objects.create(
        site=clinic["site"],
        clinician=clinic["clinicians"][0],
        location=clinic["location"],
        patient=PatientFactory(),
        start=datetime(2026, 12, 2, 14, tzinfo=UTC),
        end=datetime(2026, 12, 2, 14, 45, tzinfo=UTC),
        blocked_until=datetime(2026, 12, 2, 14, 45, tzinfo=UTC),
        source="reception",
    )
    WaitlistEntryFactory(patient=PatientFactory(first_name="Fay", consent_email=True))
    with then_send_due():
        cancel_appointment(appointment=freed, by_patient=False)
    return accept_offer(WaitlistOffer.objects.get())


class TestTheReviewPage:
    def test_a_waitlist_bookings_key_computed_from_the_offer_id_opens_nothing(self, client, clinic):
        taken = _accepted_offer(clinic)
        offer = WaitlistOffer.objects.get()
        computed = uuid.uuid5(PUBLISHED_NAMESPACE, f"waitlist-offer-{offer.pk}")

        response = Client().post("/book/bursal/review/", {"key": str(computed)})

        assert taken.booking_key != computed
        assert "/booked/" not in response.get("Location", "")
        assert manage_token(taken) not in response.get("Location", "")

    def test_another_patients_key_posted_without_a_draft_opens_nothing(self, client, adams):
        with then_send_due():
            client.post(REVIEW, {"key": to_review(client, adams)})
        victims = Appointment.objects.get()

        stranger = Client()
        response = stranger.post("/book/bursal/review/", {"key": str(victims.booking_key)})

        assert response.status_code == 302
        assert not response["Location"].startswith("/booked/")
        assert Appointment.objects.count() == 1

    def test_another_patients_key_posted_over_a_draft_of_ones_own_books_nothing_of_theirs(
        self, client, clinic, adams
    ):
        with then_send_due():
            client.post(REVIEW, {"key": to_review(client, adams)})
        victims = Appointment.objects.get()
        stranger = Client()
        to_review(stranger, clinic["clinicians"][1], {**ANA, "patient-email": "eve@example.org"})

        response = stranger.post(REVIEW, {"key": str(victims.booking_key)})

        assert response["Location"] == REVIEW
        assert Appointment.objects.count() == 1

    def test_an_api_idempotency_key_opens_nothing_through_the_page(self, clinic):
        key = str(uuid.uuid4())
        APIClient().post(APPOINTMENTS, booking(), format="json", HTTP_IDEMPOTENCY_KEY=key)

        response = Client().post(REVIEW, {"key": key})

        assert not response["Location"].startswith("/booked/")

    def test_the_sessions_own_key_posted_again_after_booking_shows_its_booking(self, client, adams):
        key = to_review(client, adams)
        with then_send_due():
            first = client.post(REVIEW, {"key": key})
            again = client.post(REVIEW, {"key": key})  # the back button's old review page

        assert first["Location"].startswith("/booked/")
        assert again["Location"] == first["Location"]
        assert "Ana, your lumbar consult is confirmed." in text(client.get(again["Location"]))
        assert Appointment.objects.count() == 1
        assert len(mail.outbox) == 1


class TestTheWaitlistKey:
    def test_it_is_keyed_by_the_secret_key_not_by_a_constant_in_the_source(self, clinic, settings):
        appointment = _accepted_offer(clinic)
        offer = WaitlistOffer.objects.get()
        assert appointment.booking_key == booking_key(offer)

        settings.SECRET_KEY = "another clinic's secret key, long enough to be a real one"
        assert booking_key(offer) != appointment.booking_key

    def test_accepting_twice_still_books_once(self, clinic):
        first = _accepted_offer(clinic)
        assert accept_offer(WaitlistOffer.objects.get()) == first
        assert Appointment.objects.active().filter(start=first.start).count() == 1


class TestTheApiIdempotencyKey:
    def _post(self, payload, key, address="198.51.100.7"):
        return APIClient().post(
            APPOINTMENTS,
            payload,
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
            REMOTE_ADDR=address,
        )

    def test_the_same_client_sending_the_same_request_gets_the_first_booking(self, clinic):
        key = str(uuid.uuid4())
        first = self._post(booking(), key)
        again = self._post(booking(), key)

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert Appointment.objects.count() == 1

    def test_the_key_replayed_by_another_client_is_422_and_shows_nothing(self, clinic):
        key = str(uuid.uuid4())
        first = self._post(booking(), key)

        replay = self._post(booking(), key, address="203.0.113.66")

        assert replay.status_code == 422
        assert first.json()["manage_url"] not in replay.content.decode()
        assert first.json()["id"] not in replay.content.decode()
        assert "Idempotency-Key" in replay.json()["detail"]
        assert Appointment.objects.count() == 1

    def test_the_key_with_another_request_is_422_and_books_nothing(self, clinic):
        key = str(uuid.uuid4())
        first = self._post(booking(), key)
        eve = booking()
        eve["patient"] = {**eve["patient"], "first_name": "Eve", "email": "eve@example.org"}

        replay = self._post(eve, key)

        assert replay.status_code == 422
        assert first.json()["id"] not in replay.content.decode()
        assert Appointment.objects.count() == 1

    def test_a_key_the_booking_page_used_is_422_through_the_api(self, client, adams):
        with then_send_due():
            client.post(REVIEW, {"key": to_review(client, adams)})
        page_booking = Appointment.objects.get()

        replay = self._post(booking(), str(page_booking.booking_key))

        assert replay.status_code == 422
        assert str(page_booking.public_id) not in replay.content.decode()
        assert Appointment.objects.count() == 1

    def test_the_schema_documents_the_422(self):
        schema = APIClient().get("/api/schema/?format=json").json()
        responses = schema["paths"][APPOINTMENTS]["post"]["responses"]
        assert "422" in responses
        assert "Idempotency-Key" in responses["422"]["description"]
