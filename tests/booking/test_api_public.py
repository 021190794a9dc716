"""The public booking API: the contract the clinic's website uses."""

from datetime import UTC, date, datetime, time

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from booking.api.serializers import SlotSerializer
from booking.api.throttling import PublicRateThrottle
from booking.availability import free_slots
from booking.links import appointment_for_manage_token
from booking.models import Appointment, Patient, Site
from tests.factories import ClinicianFactory, LocationFactory, WorkingHoursFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = "2026-12-02T09:00:00-05:00"


@pytest.fixture
def api():
    return APIClient()


def booking(**overrides):
    payload = {
        "site": "lumbar",
        "start": WEDNESDAY_9AM,
        "patient": {
            "first_name": "Ana",
            "last_name": "Silva",
            "date_of_birth": "1971-04-12",
            "email": "Ana.Silva@Example.org",
            "phone": "+18605550123",
        },
        "baseline_pain": 7,
        "reminders": {"email": True, "sms": False},
    }
    payload.update(overrides)
    return payload


class TestSites:
    def test_it_lists_active_sites_with_their_public_fields(self, api):
        Site.objects.filter(slug="thoracic").update(is_active=False)
        sites = api.get("/api/v1/sites/").json()
        assert [site["slug"] for site in sites] == [
            "bursal",
            "cervical-trigger-point",
            "intra-articular",
            "lumbar",
        ]
        assert set(sites[0]) == {"slug", "name", "duration_minutes", "description", "instructions"}


class TestAvailability:
    def test_it_lists_free_times_with_the_location_offset(self, api, clinic):
        response = api.get("/api/v1/availability/?site=lumbar&start=2026-12-02&end=2026-12-02")
        assert response.status_code == 200
        slots = response.json()["slots"]
        assert slots[0] == {
            "start": "2026-12-02T08:00:00-05:00",
            "end": "2026-12-02T08:45:00-05:00",
            "clinician": {"id": clinic["clinicians"][0].pk, "name": "Dr. Adams"},
            "location": {"id": clinic["location"].pk, "name": "Main Street"},
        }
        assert slots[1]["clinician"]["name"] == "Dr. Brown"
        assert slots[-1]["start"] == "2026-12-02T16:15:00-05:00"
        assert len(slots) == 2 * 34  # 08:00 to 16:15 every 15 minutes, two clinicians

    def test_it_filters_by_clinician(self, api, clinic):
        brown = clinic["clinicians"][1]
        slots = api.get(
            f"/api/v1/availability/?site=lumbar&start=2026-12-02&end=2026-12-02&clinician={brown.pk}"
        ).json()["slots"]
        assert {slot["clinician"]["name"] for slot in slots} == {"Dr. Brown"}

    def test_a_booked_time_is_no_longer_offered(self, api, clinic):
        adams = clinic["clinicians"][0]
        api.post("/api/v1/appointments/", booking(clinician=adams.pk), format="json")
        slots = api.get(
            f"/api/v1/availability/?site=lumbar&start=2026-12-02&end=2026-12-02&clinician={adams.pk}"
        ).json()["slots"]
        starts = [slot["start"][11:16] for slot in slots]
        assert "08:15" in starts  # 08:15-09:00 ends as the booking starts
        assert not {"08:30", "08:45", "09:00", "09:15", "09:30"} & set(starts)
        assert "09:45" in starts

    @pytest.mark.parametrize(
        ("query", "field", "message"),
        [
            ("site=spine&start=2026-12-01&end=2026-12-02", "site", "no bookable site"),
            ("start=2026-12-01&end=2026-12-02", "site", "required"),
            ("site=lumbar&start=2026-12-05&end=2026-12-01", "end", "before the start"),
            ("site=lumbar&start=2026-12-01&end=2027-02-01", "end", "at most 62 days"),
            ("site=lumbar&start=yesterday&end=2026-12-01", "start", "wrong format"),
            (
                "site=lumbar&start=2026-12-01&end=2026-12-02&clinician=9999",
                "clinician",
                "no clinician",
            ),
            (
                "site=lumbar&start=2026-12-01&end=2026-12-02&location=9999",
                "location",
                "no location",
            ),
            (
                "site=lumbar&start=2026-12-01&end=2026-12-02&clinician=abc",
                "clinician",
                "Incorrect type",
            ),
        ],
    )
    def test_it_answers_400_with_field_errors(self, api, clinic, query, field, message):
        response = api.get(f"/api/v1/availability/?{query}")
        assert response.status_code == 400
        assert message in " ".join(response.json()[field])

    def test_62_days_is_the_longest_range(self, api, clinic):
        response = api.get("/api/v1/availability/?site=lumbar&start=2026-12-01&end=2027-01-31")
        assert response.status_code == 200

    def test_the_body_is_the_json_drf_writes_for_the_same_slots(self, api, clinic):
        """orjson writes the body; byte for byte it is DRF's compact JSON of the slots."""
        chicago = LocationFactory(name="Loop \u2028 “Chicago”", time_zone="America/Chicago")
        clinician = ClinicianFactory(display_name="Dr. Øberg", sites=[clinic["site"]])
        clinician.locations.add(chicago)
        WorkingHoursFactory(
            clinician=clinician, location=chicago, weekday=2, start_time=time(8), end_time=time(9)
        )

        response = api.get("/api/v1/availability/?site=lumbar&start=2026-12-01&end=2026-12-03")

        slots = free_slots(
            site=clinic["site"], first_day=date(2026, 12, 1), last_day=date(2026, 12, 3)
        )
        expected = JSONRenderer().render(
            {"slots": [SlotSerializer().to_representation(slot) for slot in slots]}
        )
        assert response["Content-Type"] == "application/json"
        assert response.content == expected
        assert b'"2026-12-02T08:00:00-06:00"' in response.content  # Chicago's own offset
        assert b"Loop \\u2028" in response.content  # escaped, as DRF does

    def test_a_location_on_utc_keeps_its_offset_rather_than_z(self, api, clinic):
        clinic["location"].time_zone = "UTC"
        clinic["location"].save()
        slots = api.get("/api/v1/availability/?site=lumbar&start=2026-12-02&end=2026-12-02").json()[
            "slots"
        ]
        assert slots[0]["start"] == "2026-12-02T08:00:00+00:00"

    def test_no_free_time_is_an_empty_list(self, api, clinic):
        response = api.get("/api/v1/availability/?site=lumbar&start=2026-12-05&end=2026-12-06")
        assert response.content == b'{"slots":[]}'

    def test_an_indent_asked_for_is_given(self, api, clinic):
        response = api.get(
            "/api/v1/availability/?site=lumbar&start=2026-12-02&end=2026-12-02",
            HTTP_ACCEPT="application/json; indent=4",
        )
        assert response.content.startswith(b'{\n  "slots": [\n    {\n      "start": ')
        assert response.json()["slots"][0]["start"] == "2026-12-02T08:00:00-05:00"

    def test_the_browsable_api_still_shows_the_slots(self, api, clinic):
        response = api.get(
            "/api/v1/availability/?site=lumbar&start=2026-12-02&end=2026-12-02",
            HTTP_ACCEPT="text/html",
        )
        assert response.status_code == 200
        assert "2026-12-02T08:00:00-05:00" in response.content.decode()


class TestBooking:
    def test_it_books_and_answers_with_the_appointment(self, api, clinic):
        response = api.post("/api/v1/appointments/", booking(), format="json")
        assert response.status_code == 201
        body = response.json()
        appointment = Appointment.objects.get()
        assert body["id"] == str(appointment.public_id)
        assert body["status"] == "booked"
        assert body["start"] == WEDNESDAY_9AM
        assert body["end"] == "2026-12-02T09:45:00-05:00"
        assert body["site"] == "lumbar"
        assert body["clinician"] == {"id": clinic["clinicians"][0].pk, "name": "Dr. Adams"}
        assert body["location"]["name"] == "Main Street"
        token = body["manage_url"].rstrip("/").rsplit("/", 1)[-1]
        assert body["manage_url"].startswith("http://testserver/manage/")
        assert appointment_for_manage_token(token) == appointment
        assert appointment.source == "online"
        assert appointment.baseline_pain == 7
        patient = appointment.patient
        assert (patient.email, patient.phone) == ("ana.silva@example.org", "+18605550123")
        assert (patient.consent_email, patient.consent_sms) == (True, False)

    def test_a_retry_with_its_idempotency_key_gets_the_same_appointment(self, api, clinic):
        key = "5b0e9c1e-8f4e-4a7b-9d2c-3f1a6b7c8d9e"
        first = api.post(
            "/api/v1/appointments/", booking(), format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        again = api.post(
            "/api/v1/appointments/", booking(), format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert Appointment.objects.count() == 1
        # Without the key, the same request books the patient again, with the other doctor.
        assert api.post("/api/v1/appointments/", booking(), format="json").status_code == 201
        assert Appointment.objects.count() == 2

    def test_an_idempotency_key_that_is_not_a_uuid_is_400_and_books_nothing(self, api, clinic):
        response = api.post(
            "/api/v1/appointments/", booking(), format="json", HTTP_IDEMPOTENCY_KEY="retry-1"
        )
        assert response.status_code == 400
        assert response.json() == {"detail": "Idempotency-Key must be a UUID."}
        assert not Appointment.objects.exists()

    def test_the_public_identifier_is_not_sequential(self, api, clinic):
        first = api.post("/api/v1/appointments/", booking(), format="json").json()["id"]
        second = api.post(
            "/api/v1/appointments/", booking(start="2026-12-02T11:00:00-05:00"), format="json"
        ).json()["id"]
        assert len(first) == 36
        assert first != second
        assert not first.isdigit()

    def test_without_a_clinician_the_next_free_one_takes_the_time(self, api, clinic):
        first = api.post("/api/v1/appointments/", booking(), format="json").json()
        second = api.post("/api/v1/appointments/", booking(), format="json").json()
        assert (first["clinician"]["name"], second["clinician"]["name"]) == (
            "Dr. Adams",
            "Dr. Brown",
        )

    def test_a_returning_patient_is_matched_not_duplicated(self, api, clinic):
        api.post("/api/v1/appointments/", booking(), format="json")
        again = booking(start="2026-12-03T10:00:00-05:00")
        again["patient"] = {**again["patient"], "email": " ANA.SILVA@example.org ", "phone": ""}
        assert api.post("/api/v1/appointments/", again, format="json").status_code == 201
        assert Patient.objects.count() == 1

    def test_a_taken_time_is_409_with_the_nearest_free_times(self, api, clinic):
        for _ in clinic["clinicians"]:
            assert api.post("/api/v1/appointments/", booking(), format="json").status_code == 201
        response = api.post("/api/v1/appointments/", booking(), format="json")
        assert response.status_code == 409
        body = response.json()
        assert "just taken" in body["detail"]
        starts = [slot["start"] for slot in body["alternatives"]]
        assert len(starts) == 5
        assert starts == sorted(starts)
        assert "2026-12-02T08:00:00-05:00" in starts
        assert "2026-12-02T09:45:00-05:00" in starts
        assert Appointment.objects.count() == 2

    def test_a_national_phone_number_is_stored_in_e164(self, api, clinic):
        payload = booking()
        payload["patient"] = {**payload["patient"], "email": "", "phone": "(860) 555-0199"}
        payload["reminders"] = {"sms": True}
        assert api.post("/api/v1/appointments/", payload, format="json").status_code == 201
        assert Patient.objects.get().phone == "+18605550199"


def _patient(**changes):
    return {**booking()["patient"], **changes}


BAD_BOOKINGS = [
    ({"site": "spine"}, "site"),
    ({"site": 7}, "site"),
    ({"start": "2026-12-02T09:00:00"}, "start"),  # no UTC offset
    ({"start": "2026-13-45T09:00:00-05:00"}, "start"),
    ({"start": "next wednesday"}, "start"),
    ({"start": "2026-12-02T09:05:00-05:00"}, "start"),  # off the 15-minute grid
    ({"start": "2026-12-02T18:00:00-05:00"}, "start"),  # after hours
    ({"start": "2026-11-27T09:00:00-05:00"}, "start"),  # in the past
    ({"start": "2026-12-01T08:00:00-05:00"}, "start"),  # inside the 24-hour notice
    ({"start": "2027-06-01T09:00:00-04:00"}, "start"),  # beyond 90 days
    ({"clinician": 9999}, "clinician"),
    ({"patient": _patient(first_name="A" * 101)}, "patient"),
    ({"patient": _patient(last_name="")}, "patient"),
    ({"patient": _patient(email="not-an-email")}, "patient"),
    ({"patient": _patient(phone="12345")}, "patient"),
    ({"patient": _patient(email="", phone="")}, "patient"),
    ({"patient": _patient(date_of_birth="2030-01-01")}, "patient"),
    ({"patient": _patient(date_of_birth="12/04/1971")}, "patient"),
    ({"patient": "Ana Silva"}, "patient"),
    ({"baseline_pain": 11}, "baseline_pain"),
    ({"baseline_pain": -1}, "baseline_pain"),
    ({"baseline_pain": "very bad"}, "baseline_pain"),
    ({"baseline_pain": 4.5}, "baseline_pain"),
    ({"reminders": {"sms": True}, "patient": _patient(phone="")}, "reminders"),
    ({"notes": "x" * 2001}, "notes"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_BOOKINGS)
def test_bad_bookings_are_400_with_a_field_error_and_save_nothing(api, clinic, changes, field):
    response = api.post("/api/v1/appointments/", booking(**changes), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


def test_malformed_json_is_400(api, clinic):
    response = api.post(
        "/api/v1/appointments/", '{"site": "lumbar",', content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not Appointment.objects.exists()


def test_a_body_over_64_kib_is_413(api, clinic):
    payload = booking(notes="x" * (65 * 1024))
    response = api.post("/api/v1/appointments/", payload, format="json")
    assert response.status_code == 413
    assert "64 KiB" in response.json()["detail"]
    assert not Appointment.objects.exists()


def test_public_endpoints_are_rate_limited_per_address(api, clinic, monkeypatch):
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "3/min"})
    statuses = [api.get("/api/v1/sites/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert int(api.get("/api/v1/sites/")["Retry-After"]) > 0
    other = api.get("/api/v1/sites/", REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 200


def test_a_rate_of_0_turns_the_limit_off(api, clinic, monkeypatch):
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": None})
    assert {api.get("/api/v1/sites/").status_code for _ in range(50)} == {200}


def test_the_schema_documents_every_booking_endpoint_with_examples(api):
    schema = api.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/sites/",
        "/api/v1/availability/",
        "/api/v1/appointments/",
        "/api/v1/manage/{token}/",
        "/api/v1/manage/{token}/cancel/",
        "/api/v1/manage/{token}/reschedule/",
        "/api/v1/appointments/{public_id}/arrive/",
    ):
        assert path in schema["paths"], path
    booking_request = schema["paths"]["/api/v1/appointments/"]["post"]["requestBody"]
    assert "examples" in booking_request["content"]["application/json"]
    assert "409" in schema["paths"]["/api/v1/appointments/"]["post"]["responses"]
    headers = [
        parameter["name"]
        for parameter in schema["paths"]["/api/v1/appointments/"]["post"]["parameters"]
        if parameter["in"] == "header"
    ]
    assert headers == ["Idempotency-Key"]
