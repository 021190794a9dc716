"""The patient's manage link and the staff endpoints over the API."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import signing
from rest_framework.test import APIClient

from booking.links import manage_token
from booking.models import Appointment, AppointmentSource, AppointmentStatus
from booking.services import PatientDetails, book_appointment, record_safety_answers
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
ANA = PatientDetails(
    first_name="Ana", last_name="Silva", date_of_birth=date(1971, 4, 12), email="ana@example.org"
)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def appointment(clinic):
    return book_appointment(
        site=clinic["site"], start=WEDNESDAY_9AM, patient=ANA, source=AppointmentSource.ONLINE
    )


def manage(appointment, action=""):
    return f"/api/v1/manage/{manage_token(appointment)}/{action}"


class TestManageLink:
    def test_it_shows_the_appointment(self, api, appointment):
        body = api.get(manage(appointment)).json()
        assert body["id"] == str(appointment.public_id)
        assert body["start"] == "2026-12-02T09:00:00-05:00"
        assert body["can_change"] is True

    def test_the_patient_cancels_with_a_reason(self, api, appointment):
        response = api.post(manage(appointment, "cancel/"), {"reason": "Feeling better"})
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED
        assert appointment.cancellation_reason == "Feeling better"

    def test_the_patient_reschedules(self, api, appointment):
        response = api.post(
            manage(appointment, "reschedule/"), {"start": "2026-12-03T13:30:00-05:00"}
        )
        assert response.status_code == 200
        appointment.refresh_from_db()
        assert appointment.start == datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
        assert appointment.end == datetime(2026, 12, 3, 19, 15, tzinfo=UTC)

    def test_a_reschedule_onto_a_taken_time_is_409_and_changes_nothing(
        self, api, appointment, clinic
    ):
        for _ in clinic["clinicians"]:  # reception fills the time (Ana books online once)
            book_appointment(
                site=clinic["site"],
                start=WEDNESDAY_9AM + timedelta(days=1),
                patient=ANA,
                source=AppointmentSource.RECEPTION,
            )
        response = api.post(
            manage(appointment, "reschedule/"), {"start": "2026-12-03T09:00:00-05:00"}
        )
        assert response.status_code == 409
        assert response.json()["alternatives"]
        appointment.refresh_from_db()
        assert appointment.start == WEDNESDAY_9AM

    def test_inside_the_notice_the_patient_is_asked_to_call(self, api, appointment, clock):
        clock.move_to(WEDNESDAY_9AM - timedelta(hours=23))
        assert api.get(manage(appointment)).json()["can_change"] is False
        response = api.post(manage(appointment, "cancel/"))
        assert response.status_code == 409
        assert "call the clinic on (860) 555-0100" in response.json()["detail"]
        response = api.post(
            manage(appointment, "reschedule/"), {"start": "2026-12-04T09:00:00-05:00"}
        )
        assert response.status_code == 409
        appointment.refresh_from_db()
        assert (appointment.status, appointment.start) == ("booked", WEDNESDAY_9AM)

    @pytest.mark.parametrize(
        "token",
        [
            "not-a-token",
            signing.dumps(
                "00000000-0000-0000-0000-000000000000", salt="booking.appointment.manage"
            ),
        ],
    )
    def test_a_bad_or_unknown_link_is_404_and_reveals_nothing(self, api, appointment, token):
        response = api.get(f"/api/v1/manage/{token}/")
        assert response.status_code == 404
        assert "Silva" not in response.content.decode()
        assert api.post(f"/api/v1/manage/{token}/cancel/").status_code == 404

    def test_a_tampered_link_is_404(self, api, appointment):
        token = manage_token(appointment)
        assert api.get(f"/api/v1/manage/{token[:-1]}x/").status_code == 404

    def test_a_token_signed_for_another_purpose_is_404(self, api, appointment):
        token = signing.dumps(str(appointment.public_id), salt="followup.check_in")
        assert api.get(f"/api/v1/manage/{token}/").status_code == 404

    def test_the_link_expires_after_the_visit(self, api, appointment, clock):
        clock.move_to(appointment.end + timedelta(minutes=1))
        assert api.get(manage(appointment)).status_code == 404

    def test_a_link_acts_on_its_own_appointment_only(self, api, appointment, clinic):
        other = book_appointment(
            site=clinic["site"],
            start=WEDNESDAY_9AM + timedelta(hours=2),
            patient=ANA,
            source=AppointmentSource.ONLINE,
        )
        api.post(manage(appointment, "cancel/"))
        other.refresh_from_db()
        assert other.status == AppointmentStatus.BOOKED


class TestStaffAccess:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/api/v1/appointments/?date=2026-12-02"),
            ("get", "/api/v1/appointments/{id}/"),
            ("post", "/api/v1/appointments/{id}/arrive/"),
            ("post", "/api/v1/appointments/{id}/cancel/"),
        ],
    )
    def test_anonymous_and_non_staff_users_are_refused(
        self, api, appointment, patient_user, method, path
    ):
        url = path.format(id=appointment.public_id)
        assert getattr(api, method)(url).status_code in {401, 403}
        api.force_authenticate(patient_user)
        assert getattr(api, method)(url).status_code == 403
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.BOOKED


@pytest.fixture
def staff_api(api, receptionist):
    api.force_authenticate(receptionist)
    return api


class TestStaffAppointments:
    def test_it_lists_the_days_appointments_in_the_locations_zone(self, staff_api, clinic):
        # 23:30 in New York on 2 December is already 3 December in UTC.
        late = book_appointment(
            site=clinic["site"],
            start=datetime(2026, 12, 2, 13, 0, tzinfo=UTC),
            patient=ANA,
            source=AppointmentSource.RECEPTION,
        )
        Appointment.objects.filter(pk=late.pk).update(
            start=datetime(2026, 12, 3, 4, 30, tzinfo=UTC),
            end=datetime(2026, 12, 3, 5, 15, tzinfo=UTC),
            blocked_until=datetime(2026, 12, 3, 5, 15, tzinfo=UTC),
        )
        listed = staff_api.get("/api/v1/appointments/?date=2026-12-02").json()
        assert [item["id"] for item in listed] == [str(late.public_id)]
        assert listed[0]["patient"]["last_name"] == "Silva"
        assert staff_api.get("/api/v1/appointments/?date=2026-12-03").json() == []

    def test_it_filters_by_status_and_clinician(self, staff_api, appointment, clinic):
        brown = clinic["clinicians"][1]
        assert staff_api.get("/api/v1/appointments/?date=2026-12-02&status=booked").json()
        assert not staff_api.get("/api/v1/appointments/?date=2026-12-02&status=arrived").json()
        assert not staff_api.get(
            f"/api/v1/appointments/?date=2026-12-02&clinician={brown.pk}"
        ).json()
        assert staff_api.get("/api/v1/appointments/?status=lost").status_code == 400

    def test_it_shows_one_appointment_with_the_patient(self, staff_api, appointment):
        body = staff_api.get(f"/api/v1/appointments/{appointment.public_id}/").json()
        assert body["patient"]["email"] == "ana@example.org"
        assert body["source"] == "online"

    def test_reception_cancels_with_a_reason(self, staff_api, appointment):
        response = staff_api.post(
            f"/api/v1/appointments/{appointment.public_id}/cancel/", {"reason": "Clinician ill"}
        )
        assert response.status_code == 200
        assert response.json()["cancellation_reason"] == "Clinician ill"

    def test_reception_may_reschedule_inside_the_online_notice(self, staff_api, appointment):
        response = staff_api.post(
            f"/api/v1/appointments/{appointment.public_id}/reschedule/",
            {"start": "2026-11-30T15:00:00-05:00"},
        )
        assert response.status_code == 200
        appointment.refresh_from_db()
        assert appointment.start == datetime(2026, 11, 30, 20, 0, tzinfo=UTC)

    def test_arrival_then_no_further_arrival(self, staff_api, appointment, clock):
        clock.move_to(WEDNESDAY_9AM - timedelta(minutes=10))  # arriving is for the visit's day
        url = f"/api/v1/appointments/{appointment.public_id}/arrive/"
        assert staff_api.post(url).json()["status"] == "arrived"
        response = staff_api.post(url)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            "This appointment cannot be marked arrived: its status is arrived."
        )

    def test_a_cancelled_visit_cannot_be_marked_arrived(self, staff_api, appointment):
        staff_api.post(f"/api/v1/appointments/{appointment.public_id}/cancel/")
        response = staff_api.post(f"/api/v1/appointments/{appointment.public_id}/arrive/")
        assert response.status_code == 409
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED

    def test_a_no_show_only_after_the_start(self, staff_api, appointment, clock):
        url = f"/api/v1/appointments/{appointment.public_id}/no-show/"
        assert staff_api.post(url).status_code == 409
        clock.move_to(WEDNESDAY_9AM + timedelta(minutes=20))
        assert staff_api.post(url).json()["status"] == "no_show"

    def test_an_unknown_appointment_is_404(self, staff_api, clinic):
        url = "/api/v1/appointments/00000000-0000-0000-0000-000000000000/arrive/"
        assert staff_api.post(url).status_code == 404

    def test_staff_can_use_a_token(self, api, appointment, receptionist):
        token = api.post(
            "/api/v1/auth/token/", {"username": "rita", "password": PASSWORD}, format="json"
        ).json()["token"]
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api.get(f"/api/v1/appointments/{appointment.public_id}/").status_code == 200


def test_staff_see_the_safety_answers_as_flags(staff_api, appointment):
    assert (
        staff_api.get(f"/api/v1/appointments/{appointment.public_id}/").json()["safety_flags"]
        is None
    )
    record_safety_answers(
        appointment=appointment,
        answers={
            "takes_blood_thinners": True,
            "blood_thinner_names": "apixaban",
            "allergy_local_anaesthetic": False,
            "allergy_steroid": False,
            "allergy_latex": True,
            "allergy_iodine": False,
            "pregnancy": "no",
            "diabetes": False,
            "infection_or_fever": True,
            "recent_steroid_injection": False,
            "has_driver": True,
        },
    )
    listed = staff_api.get("/api/v1/appointments/?date=2026-12-02").json()
    assert listed[0]["safety_flags"] == [
        "Infection or fever",
        "Blood thinners: apixaban",
        "Allergy: latex",
    ]
