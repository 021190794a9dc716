"""Staff pages of the follow-up: the dashboard with its alerts, completing a visit, and an
answer given by phone; and the admin of procedures, episodes, answers and alerts."""

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from booking.models import AppointmentStatus, AuditEvent, Site
from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION
from followup.alerts import NotAllowedToAcknowledge, acknowledge_alert
from followup.checkins import AnswerDetails, record_answer
from followup.models import (
    Alert,
    AnswerRoute,
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Episode,
    FollowUpStep,
    Procedure,
)
from tests.admin_forms import site_change_form
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    episode_after_procedure,
)
from tests.outbox import send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 10:00 in New York
NOW = datetime(2026, 12, 4, 16, tzinfo=UTC)  # Friday 11:00: the day-3 check-in is due
DASHBOARD = "/staff/"


@pytest.fixture
def colleague():
    clinician = ClinicianFactory(display_name="Dr. Sam Okafor", user__username="dr.okafor")
    clinician.user.groups.add(Group.objects.get(name=CLINICIAN))
    return clinician


@pytest.fixture
def location():
    return LocationFactory(name="Main Street", time_zone="America/New_York")


@pytest.fixture
def episode(clinician, location):
    return episode_after_procedure(
        clinician=clinician,
        location=location,
        patient=PatientFactory(
            first_name="Ana", last_name="Lopez", email="ana@example.org", consent_email=True
        ),
        performed_at=PERFORMED,
        pain_before=6,
    )


@pytest.fixture
def alert(episode):
    _, flags = record_answer(
        check_in=episode.check_ins.get(day=3),
        answer=AnswerDetails(pain=5, side_effects=["fever"], comment="Shivery since yesterday"),
        route=AnswerRoute.WEB,
    )
    assert flags == ["Fever or chills"]
    return Alert.objects.get()


@pytest.fixture
def colleagues_alert(colleague, location):
    other = episode_after_procedure(
        clinician=colleague,
        location=location,
        patient=PatientFactory(first_name="Bo", last_name="Nguyen"),
        performed_at=PERFORMED,
    )
    record_answer(
        check_in=other.check_ins.get(day=3),
        answer=AnswerDetails(pain=3, side_effects=["redness"]),
        route=AnswerRoute.WEB,
    )
    return Alert.objects.get(clinician=colleague)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def complete_url(appointment) -> str:
    return f"/staff/appointments/{appointment.public_id}/complete/"


def answer_url(check_in) -> str:
    return f"/staff/check-ins/{check_in.pk}/answer/"


NO_SIGNS = {"warning_signs": ["none"]}


class TestAccess:
    def test_the_pages_ask_for_a_login(self, client, episode):
        check_in = episode.check_ins.first()
        appointment = episode.procedure.appointment
        for url in (DASHBOARD, complete_url(appointment), answer_url(check_in)):
            response = client.get(url)
            assert response.status_code == 302
            assert response.url.startswith("/accounts/login/?next=")

    def test_someone_who_is_not_staff_is_refused(self, patient_user, episode):
        client = logged_in(patient_user)
        appointment = episode.procedure.appointment
        for url in (DASHBOARD, complete_url(appointment), answer_url(episode.check_ins.first())):
            assert client.get(url).status_code == 403

    def test_the_dashboard_is_not_receptions(self, receptionist, alert):
        response = logged_in(receptionist).get(DASHBOARD)
        assert response.status_code == 403
        assert "Ana Lopez" not in response.content.decode()

    def test_reception_may_not_complete_answer_or_acknowledge(self, receptionist, alert):
        client = logged_in(receptionist)
        episode = alert.answer.check_in.episode
        appointment = AppointmentFactory(status=AppointmentStatus.ARRIVED)
        assert client.get(complete_url(appointment)).status_code == 403
        assert client.post(complete_url(appointment), {"consult_only": "1"}).status_code == 403
        assert client.get(answer_url(episode.check_ins.get(day=1))).status_code == 403
        assert client.post(f"/staff/alerts/{alert.pk}/acknowledge/").status_code == 403
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.ARRIVED
        alert.refresh_from_db()
        assert alert.acknowledged_at is None

    def test_the_navigation_has_a_staff_link_for_clinical_staff_only(
        self, client, receptionist, clinician
    ):
        assert 'href="/staff/"' not in page(client, "/")
        assert 'href="/staff/"' not in page(logged_in(receptionist), "/")
        assert 'href="/staff/">Staff</a>' in page(logged_in(clinician.user), "/")

    def test_a_clinician_with_no_clinician_profile_is_told_why_the_lists_are_empty(
        self, clinician_user
    ):
        assert "not linked to a clinician" in page(logged_in(clinician_user), DASHBOARD)


class TestAlertsOnTheDashboard:
    def test_the_treating_clinician_sees_the_open_alert(self, clinician, alert):
        content = page(logged_in(clinician.user), DASHBOARD)
        assert "Red-flag alerts (1)" in content
        assert "Ana Lopez" in content
        assert "Fever or chills" in content
        assert "Day 3 after the lumbar injection" in content
        assert "pain 5/10 (baseline 6)" in content
        assert "Raised just now</strong>, Dec 4, 2026, 11:00 AM EST" in content
        assert "Shivery since yesterday" in content
        assert f'action="/staff/alerts/{alert.pk}/acknowledge/"' in content

    def test_a_clinician_does_not_see_a_colleagues_alerts(self, clinician, alert, colleagues_alert):
        content = page(logged_in(clinician.user), DASHBOARD)
        assert "Bo Nguyen" not in content
        assert "Redness" not in content

    def test_a_clinic_admin_sees_every_clinicians_alerts(
        self, clinic_admin, alert, colleagues_alert
    ):
        content = page(logged_in(clinic_admin), DASHBOARD)
        assert "Red-flag alerts (2)" in content
        assert "Ana Lopez" in content
        assert "Bo Nguyen" in content
        assert "for Dr. Sam Okafor" in content

    def test_acknowledging_keeps_who_and_when_and_clears_it(self, clinician, alert, clock):
        client = logged_in(clinician.user)
        clock.move_to(NOW + timedelta(minutes=20))

        response = client.post(f"/staff/alerts/{alert.pk}/acknowledge/")

        assert response.status_code == 302
        assert response.url == DASHBOARD
        alert.refresh_from_db()
        assert alert.acknowledged_by == clinician.user
        assert alert.acknowledged_at == NOW + timedelta(minutes=20)
        content = page(client, DASHBOARD)
        assert "No open alerts." in content
        assert "Acknowledged by dr.patel on Fri, Dec 4, 2026, 11:20 AM EST" in content

    def test_a_second_acknowledgement_keeps_the_first(self, clinician, clinic_admin, alert):
        logged_in(clinician.user).post(f"/staff/alerts/{alert.pk}/acknowledge/")
        later = logged_in(clinic_admin)
        with time_machine.travel(NOW + timedelta(hours=1), tick=False):
            assert later.post(f"/staff/alerts/{alert.pk}/acknowledge/").status_code == 302
        alert.refresh_from_db()
        assert (alert.acknowledged_by, alert.acknowledged_at) == (clinician.user, NOW)

    def test_a_colleague_may_not_acknowledge_it(self, colleague, alert):
        response = logged_in(colleague.user).post(f"/staff/alerts/{alert.pk}/acknowledge/")
        assert response.status_code == 403
        alert.refresh_from_db()
        assert alert.acknowledged_at is None

    def test_a_clinic_admin_may(self, clinic_admin, alert):
        logged_in(clinic_admin).post(f"/staff/alerts/{alert.pk}/acknowledge/")
        alert.refresh_from_db()
        assert alert.acknowledged_by == clinic_admin

    def test_acknowledging_takes_post_only(self, clinician, alert):
        response = logged_in(clinician.user).get(f"/staff/alerts/{alert.pk}/acknowledge/")
        assert response.status_code == 405
        alert.refresh_from_db()
        assert alert.acknowledged_at is None

    def test_an_unknown_alert_is_404(self, clinician):
        assert logged_in(clinician.user).post("/staff/alerts/999/acknowledge/").status_code == 404

    def test_reading_the_dashboard_is_audited_and_logged(self, clinician, alert, caplog):
        caplog.set_level(logging.INFO, logger="booking.audit")
        page(logged_in(clinician.user), DASHBOARD)
        event = AuditEvent.objects.get(summary__startswith="Viewed the follow-up dashboard")
        assert (event.user, event.patient) == (clinician.user, None)
        assert f"audit event {event.pk}: dr.patel view" in caplog.text


class TestAcknowledgeAlert:
    """The domain function behind the button and the admin action."""

    def test_it_records_the_user_and_time(self, clinician, alert):
        acknowledge_alert(alert=alert, user=clinician.user, now=NOW + timedelta(hours=2))
        alert.refresh_from_db()
        assert (alert.acknowledged_by, alert.acknowledged_at) == (
            clinician.user,
            NOW + timedelta(hours=2),
        )

    def test_it_is_idempotent(self, clinician, clinic_admin, alert):
        acknowledge_alert(alert=alert, user=clinician.user)
        again = acknowledge_alert(alert=alert, user=clinic_admin, now=NOW + timedelta(days=1))
        assert (again.acknowledged_by, again.acknowledged_at) == (clinician.user, NOW)

    def test_reception_and_colleagues_may_not(self, receptionist, colleague, alert):
        for user in (receptionist, colleague.user):
            with pytest.raises(NotAllowedToAcknowledge):
                acknowledge_alert(alert=alert, user=user)
        alert.refresh_from_db()
        assert alert.acknowledged_at is None


class TestOtherDashboardLists:
    def test_arrived_visits_of_the_clinician_are_listed_to_complete(
        self, clinician, colleague, location
    ):
        mine = AppointmentFactory(
            clinician=clinician,
            location=location,
            patient=PatientFactory(first_name="Cy", last_name="Arrived"),
            start=NOW - timedelta(minutes=30),
            status=AppointmentStatus.ARRIVED,
        )
        AppointmentFactory(
            clinician=clinician,
            location=location,
            patient=PatientFactory(first_name="Di", last_name="Booked"),
            start=NOW + timedelta(hours=1),
        )
        AppointmentFactory(
            clinician=colleague,
            location=location,
            patient=PatientFactory(first_name="Ed", last_name="Elsewhere"),
            start=NOW - timedelta(minutes=30),
            status=AppointmentStatus.ARRIVED,
        )
        content = page(logged_in(clinician.user), DASHBOARD)
        assert "Cy Arrived" in content
        assert f'href="{complete_url(mine)}"' in content
        assert "Fri, Dec 4, 10:30 AM" in content
        assert "Di Booked" not in content
        assert "Ed Elsewhere" not in content

    def test_recent_answers_show_pain_baseline_and_route(self, clinician, episode, alert):
        record_answer(
            check_in=episode.check_ins.get(day=1),
            answer=AnswerDetails(pain=2, relief_percent=60, pgic=2),
            route=AnswerRoute.STAFF,
            entered_by=clinician.user,
        )
        content = page(logged_in(clinician.user), DASHBOARD)
        assert "2/10 (6)" in content
        assert "60 %" in content
        assert "Much improved" in content
        assert "Entered by staff (dr.patel)</td>" in content
        assert "5/10 (6) <strong" in content  # the fever answer, marked as a red flag

    def test_unanswered_due_check_ins_are_listed_with_a_link_to_enter_an_answer(
        self, clinician, episode
    ):
        content = page(logged_in(clinician.user), DASHBOARD)
        for day in (1, 3):
            check_in = episode.check_ins.get(day=day)
            assert f'href="{answer_url(check_in)}"' in content
        assert f'href="{answer_url(episode.check_ins.get(day=7))}"' not in content  # not due


class TestCompletionPage:
    @pytest.fixture
    def appointment(self, clinician, location):
        return AppointmentFactory(
            site=Site.objects.get(slug="lumbar"),
            clinician=clinician,
            location=location,
            patient=PatientFactory(first_name="Ana", last_name="Lopez", consent_email=True),
            start=NOW - timedelta(minutes=30),
            baseline_pain=8,
            status=AppointmentStatus.ARRIVED,
        )

    @pytest.fixture
    def form(self):
        return {
            "site": "lumbar",
            "side": "left",
            "injectate_local_anaesthetic": "on",
            "dose_local_anaesthetic": "2 ml of 1 %",
            "injectate_corticosteroid": "on",
            "dose_corticosteroid": "40 mg",
            "trigger_points": "3",
            "pain_before": "7",
            "notes": "",
        }

    def test_it_shows_the_form_with_the_booked_site_chosen(self, clinician, appointment):
        content = page(logged_in(clinician.user), complete_url(appointment))
        assert "Complete the visit of Ana Lopez" in content
        assert '<option value="lumbar" selected>' in content
        assert 'name="injectate_corticosteroid"' in content
        assert 'name="dose_corticosteroid"' in content
        assert 'name="consult_only"' in content
        assert "Pain at booking</dt><dd>8/10" in content

    def test_a_pain_before_left_empty_reads_not_recorded(self, clinician, appointment, form):
        client = logged_in(clinician.user)
        assert client.post(complete_url(appointment), form | {"pain_before": ""}).status_code == 302
        content = page(client, complete_url(appointment))
        assert "<dt>Pain before</dt><dd>Not recorded</dd>" in content
        assert "None/10" not in content

    def test_it_records_the_procedure_and_shows_the_follow_up(self, clinician, appointment, form):
        client = logged_in(clinician.user)
        response = client.post(complete_url(appointment), form)

        assert response.status_code == 302
        assert response.url == complete_url(appointment)
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.COMPLETED
        procedure = Procedure.objects.get()
        assert (procedure.site.slug, procedure.side, procedure.trigger_points) == (
            "lumbar",
            "left",
            3,
        )
        assert procedure.performed_by == clinician
        assert sorted(procedure.injectates.values_list("injectate", "dose")) == [
            ("corticosteroid", "40 mg"),
            ("local_anaesthetic", "2 ml of 1 %"),
        ]
        assert procedure.episode.baseline_pain == 7
        assert procedure.episode.check_ins.count() == 8
        content = page(client, response.url)
        assert "follow-up has started" in content
        assert "Sat, Dec 5, 2026, 10:00 AM EST" in content  # day 1
        assert "Local anesthetic (lidocaine) 2 ml of 1 %; Corticosteroid 40 mg" in content

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"pain_before": "11"}, "pain_before", "less than or equal to 10"),
            ({"pain_before": "-1"}, "pain_before", "greater than or equal to 0"),
            ({"pain_before": "4.5"}, "pain_before", "Enter a whole number"),
            ({"pain_before": "seven"}, "pain_before", "Enter a whole number"),
            ({"trigger_points": "0"}, "trigger_points", "greater than or equal to 1"),
            ({"site": "knee"}, "site", "Select a valid choice"),
            (
                {"injectate_local_anaesthetic": "", "injectate_corticosteroid": ""},
                "injectate_saline",
                "Tick at least one injectate",
            ),
            ({"dose_saline": "5 ml"}, "dose_saline", "Tick this injectate, or clear its dose"),
        ],
    )
    def test_errors_show_next_to_their_field_and_nothing_is_saved(
        self, clinician, appointment, form, changes, field, message
    ):
        data = {key: value for key, value in {**form, **changes}.items() if value != ""}
        response = logged_in(clinician.user).post(complete_url(appointment), data)

        assert response.status_code == 400
        assert message in str(response.context["form"].errors[field])
        content = response.content.decode()
        assert f'href="#id_{field}"' in content  # the summary links to the field
        assert 'class="errorlist' in content
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.ARRIVED
        assert not Procedure.objects.exists()
        assert not Episode.objects.exists()

    def test_consult_only_completes_with_no_follow_up(self, clinician, appointment):
        client = logged_in(clinician.user)
        response = client.post(complete_url(appointment), {"consult_only": "1"})
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.COMPLETED
        assert not Procedure.objects.exists()
        assert "Completed as a consult only" in page(client, complete_url(appointment))

    def test_a_visit_not_arrived_shows_no_form_and_cannot_be_completed(
        self, clinician, appointment, form
    ):
        appointment.status = AppointmentStatus.BOOKED
        appointment.save()
        client = logged_in(clinician.user)
        content = page(client, complete_url(appointment))
        assert "Only a visit whose patient has arrived can be completed" in content
        assert 'name="consult_only"' not in content

        response = client.post(complete_url(appointment), form)
        assert response.status_code == 409
        assert "has arrived can be completed" in response.content.decode()
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.BOOKED
        assert not Procedure.objects.exists()

    def test_a_clinic_admin_may_complete_for_the_booked_clinician(
        self, clinic_admin, clinician, appointment, form
    ):
        logged_in(clinic_admin).post(complete_url(appointment), form)
        assert Procedure.objects.get().performed_by == clinician

    def test_an_unknown_appointment_is_404(self, clinician):
        url = "/staff/appointments/00000000-0000-0000-0000-000000000000/complete/"
        assert logged_in(clinician.user).get(url).status_code == 404


class TestAnswerGivenByPhone:
    @pytest.fixture
    def check_in(self, episode):
        return episode.check_ins.get(day=3)

    def test_it_shows_the_check_in_and_the_form(self, clinician, check_in):
        content = page(logged_in(clinician.user), answer_url(check_in))
        assert "Day 3 check-in of Ana Lopez" in content
        assert "Fri, Dec 4, 2026, 10:00 AM EST" in content
        assert 'name="pain"' in content
        assert 'name="side_effects"' in content
        assert len(re.findall(r'name="warning_signs" value="\w+"', content)) == 12
        assert "Since the injection, have you had any of these warning signs?" in content

    def test_it_is_stored_as_entered_by_staff(self, clinician, check_in):
        response = logged_in(clinician.user).post(
            answer_url(check_in),
            {
                "pain": "3",
                "relief_percent": "50",
                "pgic": "2",
                "side_effects": ["soreness"],
                "warning_signs": ["none"],
                "activity": "more",
                "medication": "less",
                "comment": "Walking the dog again",
            },
        )

        assert response.status_code == 302
        assert response.url == DASHBOARD
        answer = CheckInAnswer.objects.get(check_in=check_in)
        assert (answer.route, answer.entered_by) == (AnswerRoute.STAFF, clinician.user)
        assert (answer.pain, answer.relief_percent, answer.pgic) == (3, 50, 2)
        assert answer.side_effects == ["none", "soreness"]
        assert (answer.activity, answer.medication) == ("more", "less")
        assert answer.comment == "Walking the dog again"
        assert answer.answered_at == NOW
        assert answer.late is False
        check_in.refresh_from_db()
        assert check_in.state == CheckInState.ANSWERED
        assert not Alert.objects.exists()

    def test_a_red_flag_raises_an_alert_and_emails_it(
        self, clinician, check_in, mailoutbox, settings
    ):
        settings.CLINIC_ALERT_EMAIL = "alerts@clinic.example"
        client = logged_in(clinician.user)
        response = client.post(
            answer_url(check_in), {"pain": "4", "warning_signs": ["fever", "weakness"]}
        )

        assert response.status_code == 302
        alert = Alert.objects.get()
        assert alert.clinician == clinician
        assert alert.reasons == ["Fever or chills", "New weakness or numbness"]
        assert alert.answer.route == AnswerRoute.STAFF
        send_due(NOW)
        email = next(email for email in mailoutbox if email.to == ["alerts@clinic.example"])
        assert "http://testserver/staff/" in email.body
        assert "Ana" not in email.subject + email.body  # the email names no patient
        assert "Fever" not in email.subject + email.body  # nor anything clinical
        assert "Red flag: Fever or chills" in page(client, DASHBOARD)

    def test_an_answer_by_text_shows_its_warning_signs_not_answered(self, clinician, check_in):
        record_answer(check_in=check_in, answer=AnswerDetails(pain=4), route=AnswerRoute.SMS)
        content = page(logged_in(clinician.user), answer_url(check_in))
        assert "<dt>Warning signs</dt><dd>Not answered</dd>" in content
        assert not re.search(r'name="warning_signs" value="\w+"[^>]* checked', content)

    def test_a_pain_far_above_baseline_after_day_2_is_a_red_flag(self, clinician, check_in):
        logged_in(clinician.user).post(
            answer_url(check_in), {"pain": "9", **NO_SIGNS}
        )  # baseline 6
        assert Alert.objects.get().reasons == ["Pain 9/10, 3 above baseline"]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"pain": "11"}, "pain"),
            ({"pain": "-1"}, "pain"),
            ({"pain": "4.5"}, "pain"),
            ({"pain": "bad"}, "pain"),
            ({"pain": ""}, "pain"),
            ({"relief_percent": "101"}, "relief_percent"),
            ({"pgic": "8"}, "pgic"),
            ({"side_effects": ["hiccups"]}, "side_effects"),
            ({"side_effects": ["fever"]}, "side_effects"),
            ({"warning_signs": []}, "warning_signs"),
            ({"warning_signs": ["none", "rash"]}, "warning_signs"),
            ({"warning_signs": ["warning_sign"]}, "warning_signs"),
        ],
    )
    def test_bad_input_is_an_error_and_nothing_is_saved(self, clinician, check_in, changes, field):
        response = logged_in(clinician.user).post(
            answer_url(check_in), {"pain": "3", **NO_SIGNS, **changes}
        )
        assert response.status_code == 400
        assert field in response.context["form"].errors
        assert not CheckInAnswer.objects.exists()
        check_in.refresh_from_db()
        assert check_in.state == CheckInState.SCHEDULED

    def test_an_answer_within_a_day_replaces_the_first(self, clinician, check_in, clock):
        client = logged_in(clinician.user)
        client.post(answer_url(check_in), {"pain": "3", **NO_SIGNS})
        clock.move_to(NOW + timedelta(hours=2))
        content = page(client, answer_url(check_in))
        assert "Replace the answer" in content
        assert re.search(r'name="warning_signs" value="none"[^>]* checked', content)
        client.post(answer_url(check_in), {"pain": "2", "warning_signs": ["pus"]})
        answer = CheckInAnswer.objects.get()
        assert (answer.pain, answer.first_answered_at, answer.answered_at) == (
            2,
            NOW,
            NOW + timedelta(hours=2),
        )
        assert answer.side_effects == ["pus"]

    def test_a_locked_answer_is_refused(self, clinician, check_in, clock):
        client = logged_in(clinician.user)
        client.post(answer_url(check_in), {"pain": "3", **NO_SIGNS})
        clock.move_to(NOW + timedelta(hours=25))
        response = client.post(answer_url(check_in), {"pain": "8", **NO_SIGNS})
        assert response.status_code == 409
        assert "answered more than 24 hours ago" in response.content.decode()
        assert CheckInAnswer.objects.get().pain == 3

    @override_settings(CHECK_IN_EDIT_WINDOW_HOURS=6)
    def test_the_page_states_the_edit_window_of_the_settings(self, clinician, check_in, clock):
        client = logged_in(clinician.user)
        page = client.get(answer_url(check_in)).content.decode()
        assert "An answer can be replaced for 6 hours, then it is locked." in page
        client.post(answer_url(check_in), {"pain": "3", **NO_SIGNS})
        clock.move_to(NOW + timedelta(hours=7))
        page = client.get(answer_url(check_in)).content.decode()
        assert "This check-in was answered more than 6 hours ago: the answer stands." in page

    def test_a_cancelled_check_in_takes_no_answer(self, clinician, check_in):
        CheckIn.objects.filter(pk=check_in.pk).update(
            state=CheckInState.CANCELLED, cancel_reason="A new procedure at this site."
        )
        client = logged_in(clinician.user)
        content = page(client, answer_url(check_in))
        assert "no longer takes answers: A new procedure at this site." in content
        assert client.post(answer_url(check_in), {"pain": "3", **NO_SIGNS}).status_code == 409
        assert not CheckInAnswer.objects.exists()

    def test_an_unknown_check_in_is_404(self, clinician):
        assert logged_in(clinician.user).get("/staff/check-ins/999/answer/").status_code == 404


class TestRolesAndAdmin:
    def _codenames(self, role: str) -> set[str]:
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    @pytest.mark.parametrize("role", [CLINICIAN, RECEPTION])
    def test_follow_up_is_on_the_staff_pages_not_in_the_roles_admin(self, role):
        # Clinicians record procedures and answers and clear alerts on the staff pages,
        # which show them their own patients; the admin's patient data is clinic admins'
        # (tests/access/test_admin.py).
        assert not {
            f"{action}_{model}"
            for action in ("view", "add", "change")
            for model in ("procedure", "episode", "checkin", "checkinanswer", "alert")
        } & self._codenames(role)

    def test_clinic_admins_may_edit_follow_up_plans(self):
        assert "change_followupstep" in self._codenames(CLINIC_ADMIN)

    def test_the_site_page_edits_its_follow_up_plan(self, clinic_admin):
        site = Site.objects.get(slug="lumbar")
        steps = FollowUpStep.objects.filter(site=site).order_by("day")
        rows: list[dict[str, object]] = [
            {"id": step.pk, "site": site.pk, "day": step.day} for step in steps
        ]
        rows[0]["day"] = 2  # the first check-in on day 2 instead of day 1
        response = logged_in(clinic_admin).post(
            f"/admin/booking/site/{site.pk}/change/",
            site_change_form(site, follow_up_steps=rows),
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert list(site.follow_up_steps.values_list("day", flat=True)) == [
            2,
            3,
            7,
            14,
            30,
            42,
            90,
            180,
        ]

    @pytest.mark.parametrize("role", ["clinic_admin"])
    def test_procedures_episodes_answers_and_alerts_are_listed_and_viewable(
        self, role, request, alert
    ):
        client = logged_in(request.getfixturevalue(role))
        answer = alert.answer
        episode = answer.check_in.episode
        for model, pk in (
            ("procedure", episode.procedure.pk),
            ("episode", episode.pk),
            ("checkinanswer", answer.pk),
            ("alert", alert.pk),
        ):
            assert client.get(f"/admin/followup/{model}/").status_code == 200, model
            content = page(client, f"/admin/followup/{model}/{pk}/change/")
            assert 'name="_save"' not in content or model == "alert", model
        assert client.get("/admin/followup/procedure/add/").status_code == 403
        assert client.get("/admin/followup/checkinanswer/add/").status_code == 403

    def test_the_episode_page_lists_its_check_ins(self, clinic_admin, alert):
        episode = alert.answer.check_in.episode
        content = page(logged_in(clinic_admin), f"/admin/followup/episode/{episode.pk}/change/")
        assert "5/10" in content  # the day-3 answer beside its check-in
        assert content.count("Scheduled") >= 7

    def test_the_alert_list_acknowledges_the_selected_alerts(self, clinic_admin, alert):
        response = logged_in(clinic_admin).post(
            "/admin/followup/alert/",
            {"action": "acknowledge_action", "_selected_action": [alert.pk]},
        )
        assert response.status_code == 302
        alert.refresh_from_db()
        assert (alert.acknowledged_by, alert.acknowledged_at) == (clinic_admin, NOW)

    def test_a_colleague_cannot_acknowledge_from_the_admin(self, colleague, alert):
        logged_in(colleague.user).post(
            "/admin/followup/alert/",
            {"action": "acknowledge_action", "_selected_action": [alert.pk]},
        )
        alert.refresh_from_db()
        assert alert.acknowledged_at is None

    def test_reception_cannot_see_alerts_in_the_admin(self, receptionist, alert):
        assert logged_in(receptionist).get("/admin/followup/alert/").status_code == 403
