"""POST /api/v1/appointments/<id>/complete/: a clinician completes an arrived visit with the
procedure (which starts a follow-up episode) or as a consult only."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from booking.models import AppointmentStatus, AuditEvent, Site
from followup.checkins import AnswerDetails, record_answer
from followup.models import (
    AnswerRoute,
    CheckIn,
    CheckInState,
    Episode,
    Message,
    MessageKind,
    MessageState,
    Procedure,
)
from followup.procedures import NEW_PROCEDURE_AT_SITE
from followup.reminders import plan_reminders
from tests.factories import AppointmentFactory, LocationFactory, PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# Thursday 5 March 2026, 14:30 in New York (EST); the clocks go forward on Sunday 8 March.
NOW = datetime(2026, 3, 5, 19, 30, tzinfo=UTC)
VISIT = datetime(2026, 3, 5, 19, 0, tzinfo=UTC)

# Day N after the procedure, 10:00 New York time: EST before 8 March, EDT after.
EXPECTED_DUE = [
    (1, "2026-03-06T10:00:00-05:00"),
    (3, "2026-03-08T10:00:00-04:00"),
    (7, "2026-03-12T10:00:00-04:00"),
    (14, "2026-03-19T10:00:00-04:00"),
    (30, "2026-04-04T10:00:00-04:00"),
    (42, "2026-04-16T10:00:00-04:00"),
    (90, "2026-06-03T10:00:00-04:00"),
    (180, "2026-09-01T10:00:00-04:00"),
]

LUMBAR_STEROID = {
    "side": "left",
    "injectates": [
        {"injectate": "local_anaesthetic", "dose": "2 ml of 1 %"},
        {"injectate": "corticosteroid", "dose": "40 mg"},
    ],
    "trigger_points": 3,
    "pain_before": 7,
    "notes": "Tolerated well.",
}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def lumbar():
    return Site.objects.get(slug="lumbar")


@pytest.fixture
def patient():
    return PatientFactory(
        first_name="Ana",
        email="ana@example.org",
        phone="+18605550123",
        consent_email=True,
        consent_sms=True,
    )


@pytest.fixture
def appointment(lumbar, clinician, patient):
    """Today's lumbar consult in New York; the patient has arrived."""
    return AppointmentFactory(
        site=lumbar,
        clinician=clinician,
        location=LocationFactory(name="Main Street", time_zone="America/New_York"),
        patient=patient,
        start=VISIT,
        baseline_pain=8,
        status=AppointmentStatus.ARRIVED,
    )


@pytest.fixture
def as_clinician(api, clinician):
    api.force_authenticate(clinician.user)
    return api


def url(appointment) -> str:
    return f"/api/v1/appointments/{appointment.public_id}/complete/"


def complete(api, appointment, procedure=None, **changes):
    body = {"procedure": None if procedure is None else {**procedure, **changes}}
    return api.post(url(appointment), body, format="json")


def nothing_saved(appointment) -> bool:
    appointment.refresh_from_db()
    return (
        appointment.status == AppointmentStatus.ARRIVED
        and not Procedure.objects.exists()
        and not Episode.objects.exists()
        and not CheckIn.objects.exists()
    )


class TestWhoMayComplete:
    def test_anonymous_callers_are_refused(self, api, appointment):
        assert complete(api, appointment, LUMBAR_STEROID).status_code in {401, 403}
        assert nothing_saved(appointment)

    def test_reception_is_refused(self, api, appointment, receptionist):
        api.force_authenticate(receptionist)
        response = complete(api, appointment, LUMBAR_STEROID)
        assert response.status_code == 403
        assert response.json() == {"detail": "Only clinicians record a visit's procedure."}
        assert nothing_saved(appointment)

    def test_reception_may_not_complete_as_a_consult_only_either(
        self, api, appointment, receptionist
    ):
        api.force_authenticate(receptionist)
        assert complete(api, appointment).status_code == 403
        assert nothing_saved(appointment)

    def test_someone_who_is_not_staff_is_refused(self, api, appointment, patient_user):
        api.force_authenticate(patient_user)
        assert complete(api, appointment, LUMBAR_STEROID).status_code == 403
        assert nothing_saved(appointment)

    def test_the_clinician_completes_it_and_is_recorded_as_injecting(
        self, as_clinician, appointment, clinician
    ):
        response = complete(as_clinician, appointment, LUMBAR_STEROID)
        assert response.status_code == 201, response.json()
        assert Procedure.objects.get().performed_by == clinician
        assert response.json()["procedure"]["performed_by"] == {
            "id": clinician.pk,
            "name": "Dr. Maya Patel",
        }

    def test_a_clinic_admin_with_no_clinician_profile_records_the_booked_clinician(
        self, api, appointment, clinic_admin, clinician
    ):
        api.force_authenticate(clinic_admin)
        assert complete(api, appointment, LUMBAR_STEROID).status_code == 201
        assert Procedure.objects.get().performed_by == clinician

    def test_an_unknown_appointment_is_404(self, as_clinician):
        response = as_clinician.post(
            "/api/v1/appointments/00000000-0000-0000-0000-000000000000/complete/",
            {"procedure": None},
            format="json",
        )
        assert response.status_code == 404

    def test_it_is_audited_and_logged(self, as_clinician, appointment, caplog):
        caplog.set_level(logging.INFO, logger="booking.audit")
        complete(as_clinician, appointment, LUMBAR_STEROID)
        event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE)
        assert (event.user.username, event.patient) == ("dr.patel", appointment.patient)
        assert f"audit event {event.pk}: dr.patel create" in caplog.text


class TestOnlyArrivedVisits:
    @pytest.mark.parametrize(
        "status",
        [
            AppointmentStatus.BOOKED,
            AppointmentStatus.CANCELLED,
            AppointmentStatus.NO_SHOW,
            AppointmentStatus.COMPLETED,
        ],
    )
    def test_a_visit_whose_patient_has_not_arrived_is_409(self, as_clinician, appointment, status):
        appointment.status = status
        appointment.save()
        response = complete(as_clinician, appointment, LUMBAR_STEROID)
        assert response.status_code == 409
        assert "arrived" in response.json()["detail"]
        appointment.refresh_from_db()
        assert appointment.status == status
        assert not Procedure.objects.exists()

    def test_completing_twice_is_409_the_second_time(self, as_clinician, appointment):
        assert complete(as_clinician, appointment, LUMBAR_STEROID).status_code == 201
        assert complete(as_clinician, appointment, LUMBAR_STEROID).status_code == 409
        assert Procedure.objects.count() == 1
        assert CheckIn.objects.count() == 8


class TestBadInput:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"pain_before": 11}, "pain_before"),
            ({"pain_before": -1}, "pain_before"),
            ({"pain_before": 4.5}, "pain_before"),
            ({"pain_before": "seven"}, "pain_before"),
            ({"trigger_points": 0}, "trigger_points"),
            ({"trigger_points": 1000}, "trigger_points"),
            ({"injectates": [{"injectate": "ketamine"}]}, "injectates"),
            ({"injectates": []}, "injectates"),
            (
                {"injectates": [{"injectate": "saline"}, {"injectate": "saline", "dose": "2 ml"}]},
                "injectates",
            ),
            ({"site": "knee"}, "site"),
            ({"side": "up"}, "side"),
        ],
    )
    def test_it_is_a_field_error_and_nothing_is_saved(
        self, as_clinician, appointment, changes, field
    ):
        response = complete(as_clinician, appointment, LUMBAR_STEROID, **changes)
        assert response.status_code == 400
        assert field in response.json()["procedure"]
        assert nothing_saved(appointment)

    @pytest.mark.parametrize("missing", ["side", "injectates", "trigger_points"])
    def test_each_required_field_is_required(self, as_clinician, appointment, missing):
        procedure = {key: value for key, value in LUMBAR_STEROID.items() if key != missing}
        response = complete(as_clinician, appointment, procedure)
        assert response.status_code == 400
        assert response.json()["procedure"][missing] == ["This field is required."]
        assert nothing_saved(appointment)

    def test_a_body_without_procedure_is_not_taken_for_a_consult_only(
        self, as_clinician, appointment
    ):
        response = as_clinician.post(url(appointment), {}, format="json")
        assert response.status_code == 400
        assert response.json() == {"procedure": ["This field is required."]}
        assert nothing_saved(appointment)

    def test_a_duplicate_injectate_says_so(self, as_clinician, appointment):
        response = complete(
            as_clinician,
            appointment,
            LUMBAR_STEROID,
            injectates=[{"injectate": "saline"}, {"injectate": "saline"}],
        )
        assert response.json()["procedure"]["injectates"] == ["Give each injectate once."]


class TestProcedureAndEpisode:
    def test_it_answers_with_the_completed_visit_procedure_and_check_in_schedule(
        self, as_clinician, appointment
    ):
        body = complete(as_clinician, appointment, LUMBAR_STEROID).json()

        assert body["appointment"]["id"] == str(appointment.public_id)
        assert body["appointment"]["status"] == "completed"
        procedure = body["procedure"]
        assert procedure["site"] == "lumbar"
        assert procedure["side"] == "left"
        assert procedure["injectates"] == [
            {"injectate": "local_anaesthetic", "dose": "2 ml of 1 %"},
            {"injectate": "corticosteroid", "dose": "40 mg"},
        ]
        assert (procedure["trigger_points"], procedure["pain_before"]) == (3, 7)
        assert procedure["notes"] == "Tolerated well."
        assert procedure["performed_at"] == "2026-03-05T14:30:00-05:00"
        episode = body["episode"]
        assert episode["baseline_pain"] == 7
        assert episode["started_at"] == "2026-03-05T14:30:00-05:00"
        assert [(c["day"], c["due_at"]) for c in episode["check_ins"]] == EXPECTED_DUE
        assert {c["state"] for c in episode["check_ins"]} == {"scheduled"}
        # Expiry: 72 hours after due by default.
        assert episode["check_ins"][0]["expires_at"] == "2026-03-09T11:00:00-04:00"

    def test_it_stores_the_procedure_episode_and_eight_check_ins(
        self, as_clinician, appointment, lumbar, clinician
    ):
        complete(as_clinician, appointment, LUMBAR_STEROID)

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.COMPLETED
        procedure = Procedure.objects.get()
        assert (procedure.appointment, procedure.site, procedure.side) == (
            appointment,
            lumbar,
            "left",
        )
        assert procedure.performed_at == NOW
        assert sorted(procedure.injectates.values_list("injectate", "dose")) == [
            ("corticosteroid", "40 mg"),
            ("local_anaesthetic", "2 ml of 1 %"),
        ]
        episode = Episode.objects.get()
        assert (episode.procedure, episode.patient, episode.site) == (
            procedure,
            appointment.patient,
            lumbar,
        )
        assert episode.started_at == NOW
        assert episode.closed_at is None
        zone = appointment.location.zone
        check_ins = list(episode.check_ins.order_by("day"))
        assert [c.day for c in check_ins] == [1, 3, 7, 14, 30, 42, 90, 180]
        assert [c.due_at.astimezone(zone).isoformat() for c in check_ins] == [
            due for _, due in EXPECTED_DUE
        ]
        assert {c.due_at.astimezone(zone).hour for c in check_ins} == {10}
        assert all(c.expires_at - c.due_at == timedelta(hours=72) for c in check_ins)

    def test_the_check_in_messages_go_by_each_agreed_channel(self, as_clinician, appointment):
        complete(as_clinician, appointment, LUMBAR_STEROID)
        check_in_messages = Message.objects.filter(kind=MessageKind.CHECK_IN)
        assert check_in_messages.count() == 16  # 8 check-ins, by email and by SMS
        assert set(check_in_messages.values_list("appointment", flat=True)) == {appointment.pk}
        assert set(check_in_messages.values_list("state", flat=True)) == {"scheduled"}

    def test_the_baseline_is_the_pain_before_not_the_one_given_at_booking(
        self, as_clinician, appointment
    ):
        assert appointment.baseline_pain == 8
        complete(as_clinician, appointment, LUMBAR_STEROID, pain_before=6)
        assert Episode.objects.get().baseline_pain == 6

    def test_without_a_pain_before_the_baseline_is_the_one_given_at_booking(
        self, as_clinician, appointment
    ):
        procedure = {key: value for key, value in LUMBAR_STEROID.items() if key != "pain_before"}
        assert complete(as_clinician, appointment, procedure).status_code == 201
        episode = Episode.objects.get()
        assert episode.procedure.pain_before is None
        assert episode.baseline_pain == appointment.baseline_pain

    def test_a_pain_before_of_zero_is_a_baseline_of_zero(self, as_clinician, appointment):
        complete(as_clinician, appointment, LUMBAR_STEROID, pain_before=0)
        assert Episode.objects.get().baseline_pain == 0

    def test_the_site_defaults_to_the_booked_one(self, as_clinician, appointment, lumbar):
        procedure = {key: value for key, value in LUMBAR_STEROID.items() if key != "site"}
        assert complete(as_clinician, appointment, procedure).json()["procedure"]["site"] == (
            "lumbar"
        )
        assert Episode.objects.get().site == lumbar

    def test_another_site_may_be_recorded(self, as_clinician, appointment):
        body = complete(as_clinician, appointment, LUMBAR_STEROID, site="thoracic").json()
        assert body["procedure"]["site"] == "thoracic"
        assert Episode.objects.get().site.slug == "thoracic"

    def test_doses_are_optional(self, as_clinician, appointment):
        response = complete(
            as_clinician, appointment, LUMBAR_STEROID, injectates=[{"injectate": "saline"}]
        )
        assert response.status_code == 201
        assert response.json()["procedure"]["injectates"] == [{"injectate": "saline", "dose": ""}]

    def test_in_another_zone_the_check_ins_are_due_at_10_there(self, as_clinician, appointment):
        location = appointment.location
        location.time_zone = "America/Los_Angeles"
        location.save()
        body = complete(as_clinician, appointment, LUMBAR_STEROID).json()
        assert body["episode"]["check_ins"][0]["due_at"] == "2026-03-06T10:00:00-08:00"


class TestConsultOnly:
    def test_it_completes_the_visit_and_starts_no_follow_up(self, as_clinician, appointment):
        response = complete(as_clinician, appointment)

        assert response.status_code == 200
        body = response.json()
        assert body["appointment"]["status"] == "completed"
        assert (body["procedure"], body["episode"]) == (None, None)
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.COMPLETED
        assert not Procedure.objects.exists()
        assert not Episode.objects.exists()
        assert not Message.objects.filter(kind=MessageKind.CHECK_IN).exists()


class TestANewProcedureAtTheSameSite:
    @pytest.fixture
    def first_episode(self, as_clinician, appointment):
        complete(as_clinician, appointment, LUMBAR_STEROID)
        return Episode.objects.get()

    @pytest.fixture
    def second_visit(self, appointment, clock):
        clock.move_to(datetime(2026, 3, 16, 15, 0, tzinfo=UTC))  # 11 days later, 11:00 EDT
        return AppointmentFactory(
            site=appointment.site,
            clinician=appointment.clinician,
            location=appointment.location,
            patient=appointment.patient,
            start=datetime(2026, 3, 16, 14, 30, tzinfo=UTC),
            status=AppointmentStatus.ARRIVED,
        )

    def test_it_cancels_the_earlier_episodes_future_check_ins_with_the_reason(
        self, as_clinician, first_episode, second_visit
    ):
        day_three = first_episode.check_ins.get(day=3)
        record_answer(
            check_in=day_three,
            answer=AnswerDetails(pain=4),
            route=AnswerRoute.WEB,
            now=datetime(2026, 3, 8, 16, 0, tzinfo=UTC),
        )

        assert complete(as_clinician, second_visit, LUMBAR_STEROID).status_code == 201

        first_episode.refresh_from_db()
        assert first_episode.closed_at == datetime(2026, 3, 16, 15, 0, tzinfo=UTC)
        assert first_episode.close_reason == NEW_PROCEDURE_AT_SITE
        states = dict(first_episode.check_ins.values_list("day", "state"))
        assert states[3] == CheckInState.ANSWERED  # what the patient told us stays
        future = first_episode.check_ins.filter(day__gte=14)
        assert set(future.values_list("state", "cancel_reason")) == {
            (CheckInState.CANCELLED, NEW_PROCEDURE_AT_SITE)
        }
        their_messages = Message.objects.filter(check_in__in=future)
        assert their_messages.count() == 20  # 5 check-ins, each by 2 channels, and reminders
        assert set(their_messages.values_list("state", "skip_reason")) == {
            (MessageState.CANCELLED, NEW_PROCEDURE_AT_SITE)
        }

    def test_the_new_episode_has_its_own_full_plan(self, as_clinician, first_episode, second_visit):
        complete(as_clinician, second_visit, LUMBAR_STEROID)
        new = Episode.objects.exclude(pk=first_episode.pk).get()
        assert new.closed_at is None
        assert list(new.check_ins.values_list("state", flat=True)) == ["scheduled"] * 8

    def test_a_procedure_at_another_site_leaves_the_earlier_episode_open(
        self, as_clinician, first_episode, second_visit
    ):
        complete(as_clinician, second_visit, LUMBAR_STEROID, site="thoracic")
        first_episode.refresh_from_db()
        assert first_episode.closed_at is None
        assert not first_episode.check_ins.filter(state=CheckInState.CANCELLED).exists()

    def test_a_consult_only_leaves_the_earlier_episode_open(
        self, as_clinician, first_episode, second_visit
    ):
        complete(as_clinician, second_visit)
        first_episode.refresh_from_db()
        assert first_episode.closed_at is None


class TestTheAppointmentsTimeline:
    """GET /api/v1/appointments/<id>/messages/ lists the check-ins of the episode the
    appointment's procedure started, after its reminders."""

    def test_it_lists_reminders_then_check_ins_and_their_reminders(
        self, as_clinician, appointment, clock
    ):
        clock.move_to(VISIT - timedelta(days=4))
        appointment.status = AppointmentStatus.BOOKED
        appointment.save()
        plan_reminders(appointment)
        appointment.status = AppointmentStatus.ARRIVED
        appointment.save()
        clock.move_to(NOW)
        complete(as_clinician, appointment, LUMBAR_STEROID)

        body = as_clinician.get(f"/api/v1/appointments/{appointment.public_id}/messages/").json()

        kinds = [m["kind"] for m in body]
        assert kinds[:3] == ["reminder"] * 3
        assert kinds.count("check_in") == 16
        assert kinds.count("check_in_reminder") == 16
        day_one = [m for m in body if m["due_at"] == "2026-03-06T10:00:00-05:00"]
        assert {(m["kind"], m["channel"]) for m in day_one} == {
            ("check_in", "email"),
            ("check_in", "sms"),
        }
        reminders_of_day_one = [m for m in body if m["due_at"] == "2026-03-07T10:00:00-05:00"]
        assert {m["kind"] for m in reminders_of_day_one} == {"check_in_reminder"}
        assert [m["due_at"] for m in body] == sorted(
            (m["due_at"] for m in body), key=datetime.fromisoformat
        )

    def test_reception_sees_the_check_ins_too(self, as_clinician, appointment, api, receptionist):
        complete(as_clinician, appointment, LUMBAR_STEROID)
        api.force_authenticate(receptionist)
        body = api.get(f"/api/v1/appointments/{appointment.public_id}/messages/").json()
        assert {m["kind"] for m in body} == {"check_in", "check_in_reminder"}

    def test_cancelled_check_ins_show_with_their_reason(self, as_clinician, appointment, clock):
        complete(as_clinician, appointment, LUMBAR_STEROID)
        clock.move_to(datetime(2026, 3, 16, 15, 0, tzinfo=UTC))
        second = AppointmentFactory(
            site=appointment.site,
            clinician=appointment.clinician,
            location=appointment.location,
            patient=appointment.patient,
            start=datetime(2026, 3, 16, 14, 30, tzinfo=UTC),
            status=AppointmentStatus.ARRIVED,
        )
        complete(as_clinician, second, LUMBAR_STEROID)
        body = as_clinician.get(f"/api/v1/appointments/{appointment.public_id}/messages/").json()
        cancelled = [m for m in body if m["state"] == "cancelled"]
        assert cancelled
        assert {m["skip_reason"] for m in cancelled} == {NEW_PROCEDURE_AT_SITE}


def test_the_schema_documents_it_for_staff(api, clinician_user):
    api.force_authenticate(clinician_user)
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/appointments/{public_id}/complete/"]["post"]
    assert operation["tags"] == ["staff"]
    assert {"200", "201", "409"} <= set(operation["responses"])
    request = schema["components"]["schemas"]["NewProcedureRequest"]["properties"]
    assert {"site", "side", "injectates", "trigger_points", "pain_before", "notes"} <= set(request)
    check_in = schema["components"]["schemas"]["ScheduledCheckIn"]["properties"]
    assert {"day", "due_at"} <= set(check_in)
