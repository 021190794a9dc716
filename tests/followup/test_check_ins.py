"""Check-ins, the domain: the plan and its send hours (also across a change of the clocks),
closing an earlier episode, reminder and expiry, late answers, replace-then-lock, alerts.

Every case starts from `complete_visit`, as the staff page and API do, and checks exact
UTC times: the database is the schedule.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail, signing
from django.test import override_settings

from booking.links import manage_token
from booking.models import Site
from followup.checkins import (
    AnswerDetails,
    CheckInClosed,
    CheckInLocked,
    CheckInStatus,
    LinkProblem,
    check_in_from_token,
    check_in_status,
    check_in_token,
    edit_window_in_words,
    expire_check_ins,
    locked_reason,
    open_check_in_for_phone,
    previous_pain,
    record_answer,
)
from followup.dispatch import dispatch_due_messages
from followup.models import (
    Alert,
    AnswerRoute,
    Channel,
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Episode,
    FollowUpStep,
    Message,
    MessageKind,
    MessageState,
)
from followup.procedures import NEW_PROCEDURE_AT_SITE
from followup.sending import Outcome, send_message
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    episode_after_procedure,
)
from tests.outbox import send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NEW_YORK = ZoneInfo("America/New_York")
PHONE = "+18605550123"
# Tuesday 1 December 2026, 10:00 in New York: the procedure.
PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOW = PERFORMED
PLAN = [1, 3, 7, 14, 30, 42, 90, 180]


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def patient():
    return PatientFactory(
        first_name="Ana", phone=PHONE, email="ana@example.org", consent_email=True, consent_sms=True
    )


@pytest.fixture
def episode(patient) -> Episode:
    return episode_after_procedure(patient=patient, performed_at=PERFORMED, pain_before=6)


def check_in(episode: Episode, day: int) -> CheckIn:
    return episode.check_ins.get(day=day)


def answer(check_in: CheckIn, *, at: datetime, pain: int = 4, **details) -> CheckInAnswer:
    record, _ = record_answer(
        check_in=check_in,
        answer=AnswerDetails(pain=pain, **details),
        route=AnswerRoute.WEB,
        now=at,
    )
    return record


class TestPlan:
    def test_a_procedure_opens_an_episode_with_the_sites_plan_at_10_local(self, episode):
        assert episode.baseline_pain == 6
        assert episode.site.slug == "lumbar"
        assert episode.started_at == PERFORMED
        rows = list(episode.check_ins.order_by("day"))
        assert [row.day for row in rows] == PLAN
        for row in rows:
            local = row.due_at.astimezone(NEW_YORK)
            assert local.date() == date(2026, 12, 1) + timedelta(days=row.day)
            assert local.time() == time(10)
            assert row.expires_at - row.due_at == timedelta(hours=72)
            assert row.state == CheckInState.SCHEDULED
        assert rows[0].due_at == utc(2026, 12, 2, 15)

    def test_each_check_in_is_a_message_and_a_reminder_24_hours_later_by_each_channel(
        self, episode
    ):
        day_1 = check_in(episode, 1)
        messages = {(m.kind, m.channel): m for m in Message.objects.filter(check_in=day_1)}
        assert set(messages) == {
            (MessageKind.CHECK_IN, Channel.EMAIL),
            (MessageKind.CHECK_IN, Channel.SMS),
            (MessageKind.CHECK_IN_REMINDER, Channel.EMAIL),
            (MessageKind.CHECK_IN_REMINDER, Channel.SMS),
        }
        for channel in (Channel.EMAIL, Channel.SMS):
            assert messages[MessageKind.CHECK_IN, channel].due_at == day_1.due_at
            assert messages[MessageKind.CHECK_IN_REMINDER, channel].due_at == (
                day_1.due_at + timedelta(hours=24)
            )
        assert messages[MessageKind.CHECK_IN, Channel.SMS].recipient == PHONE
        assert messages[MessageKind.CHECK_IN, Channel.EMAIL].recipient == "ana@example.org"
        assert Message.objects.filter(appointment=episode.procedure.appointment).count() == 4 * 8

    @pytest.mark.parametrize(
        ("consent_email", "consent_sms", "channels"),
        [
            (True, False, {Channel.EMAIL}),
            (False, True, {Channel.SMS}),
            (False, False, set()),
        ],
    )
    def test_only_by_the_channels_the_patient_agreed_to(self, consent_email, consent_sms, channels):
        patient = PatientFactory(phone=PHONE, consent_email=consent_email, consent_sms=consent_sms)
        episode = episode_after_procedure(patient=patient, performed_at=PERFORMED)
        assert episode.check_ins.count() == len(PLAN)
        sent_by = set(
            Message.objects.filter(check_in__episode=episode).values_list("channel", flat=True)
        )
        assert sent_by == channels

    def test_the_plan_is_the_sites_own(self, patient):
        bursal = Site.objects.get(slug="bursal")
        FollowUpStep.objects.filter(site=bursal).exclude(day__in=[2, 14]).delete()
        FollowUpStep.objects.create(site=bursal, day=2)
        episode = episode_after_procedure(
            site_slug="bursal", patient=patient, performed_at=PERFORMED
        )
        assert sorted(episode.check_ins.values_list("day", flat=True)) == [2, 14]

    def test_a_consult_only_visit_starts_no_follow_up(self, patient):
        from booking.models import AppointmentStatus
        from followup.procedures import complete_visit
        from tests.factories import AppointmentFactory

        visit = AppointmentFactory(patient=patient, status=AppointmentStatus.ARRIVED)
        assert complete_visit(appointment=visit, procedure=None, clinician=visit.clinician) is None
        assert not Episode.objects.exists()
        assert not CheckIn.objects.exists()

    @pytest.mark.parametrize(
        ("zone", "performed", "expected_utc"),
        [
            # New York falls back on Sunday 1 November 2026: 10:00 is 14:00 UTC, then 15:00.
            (
                "America/New_York",
                utc(2026, 10, 30, 14),
                {1: utc(2026, 10, 31, 14), 3: utc(2026, 11, 2, 15), 7: utc(2026, 11, 6, 15)},
            ),
            # ... and springs forward on Sunday 8 March 2026: 15:00 UTC, then 14:00.
            (
                "America/New_York",
                utc(2026, 3, 6, 15),
                {1: utc(2026, 3, 7, 15), 3: utc(2026, 3, 9, 14), 7: utc(2026, 3, 13, 14)},
            ),
            # Berlin falls back on Sunday 25 October 2026.
            (
                "Europe/Berlin",
                utc(2026, 10, 23, 9),
                {1: utc(2026, 10, 24, 8), 3: utc(2026, 10, 26, 9), 7: utc(2026, 10, 30, 9)},
            ),
        ],
    )
    def test_send_hours_stay_10_local_across_a_change_of_the_clocks(
        self, patient, zone, performed, expected_utc
    ):
        location = LocationFactory(time_zone=zone)
        episode = episode_after_procedure(
            patient=patient, location=location, performed_at=performed
        )
        due = dict(episode.check_ins.values_list("day", "due_at"))
        for day, moment in expected_utc.items():
            assert due[day] == moment
        for day, moment in due.items():
            local = moment.astimezone(ZoneInfo(zone))
            assert local.time() == time(10), day
            assert local.date() == performed.astimezone(ZoneInfo(zone)).date() + timedelta(days=day)

    def test_the_reminder_is_24_elapsed_hours_later_also_across_the_change(self, patient):
        # Day 1 is Saturday 31 October, 10:00 EDT; 24 hours later it is 09:00 EST.
        episode = episode_after_procedure(patient=patient, performed_at=utc(2026, 10, 30, 14))
        reminder = Message.objects.get(
            check_in__episode=episode,
            check_in__day=1,
            kind=MessageKind.CHECK_IN_REMINDER,
            channel=Channel.EMAIL,
        )
        assert reminder.due_at == utc(2026, 11, 1, 14)
        assert reminder.due_at.astimezone(NEW_YORK).time() == time(9)

    @pytest.mark.parametrize(
        ("hour", "local_due"),
        [
            (22, datetime(2026, 12, 3, 8, tzinfo=NEW_YORK)),  # quiet: next morning at 08:00
            (6, datetime(2026, 12, 2, 8, tzinfo=NEW_YORK)),  # quiet: 08:00 that morning
            (14, datetime(2026, 12, 2, 14, tzinfo=NEW_YORK)),
        ],
    )
    def test_a_check_in_hour_in_quiet_hours_moves_to_08_00(
        self, settings, patient, hour, local_due
    ):
        settings.CHECK_IN_HOUR = hour
        episode = episode_after_procedure(patient=patient, performed_at=PERFORMED)
        assert check_in(episode, 1).due_at == local_due

    def test_the_check_in_message_links_to_its_own_page(self, episode):
        from followup.content import render_message

        message = Message.objects.get(
            check_in=check_in(episode, 3), kind=MessageKind.CHECK_IN, channel=Channel.SMS
        )
        body = render_message(message).body
        assert "Reply with a number 0-10" in body
        token = body.split("/check-in/")[1].split("/")[0]
        assert check_in_from_token(token, now=check_in(episode, 3).due_at) == (
            check_in(episode, 3),
            None,
        )
        assert "lumbar" not in body.lower()


class TestClosingAnEarlierEpisode:
    def test_a_new_procedure_at_the_same_site_closes_the_earlier_follow_up(
        self, episode, patient, clock
    ):
        answer(check_in(episode, 1), at=utc(2026, 12, 2, 16))
        # Day 3 was due on 4 December and is not answered when the patient comes back on
        # the 5th: an answer now would describe the new injection, so it is cancelled too.
        second_visit = utc(2026, 12, 5, 15)
        clock.move_to(second_visit)
        new = episode_after_procedure(
            patient=patient,
            location=episode.procedure.appointment.location,
            performed_at=second_visit,
        )

        episode.refresh_from_db()
        assert episode.closed_at == second_visit
        assert episode.close_reason == NEW_PROCEDURE_AT_SITE
        states = dict(episode.check_ins.values_list("day", "state"))
        assert states == {1: CheckInState.ANSWERED} | dict.fromkeys(
            PLAN[1:], CheckInState.CANCELLED
        )
        assert set(
            episode.check_ins.filter(state=CheckInState.CANCELLED).values_list(
                "cancel_reason", flat=True
            )
        ) == {NEW_PROCEDURE_AT_SITE}
        pending = Message.objects.filter(check_in__episode=episode, state=MessageState.SCHEDULED)
        assert not pending.exists()
        cancelled = Message.objects.filter(
            check_in__episode=episode, state=MessageState.CANCELLED
        ).exclude(skip_reason="The check-in was answered.")
        assert cancelled.count() == 4 * 7
        assert set(cancelled.values_list("skip_reason", flat=True)) == {NEW_PROCEDURE_AT_SITE}
        # The answer stays; the new episode has its own plan.
        assert CheckInAnswer.objects.filter(check_in__episode=episode).count() == 1
        assert new.closed_at is None
        assert new.check_ins.filter(state=CheckInState.SCHEDULED).count() == len(PLAN)

    def test_an_expired_check_in_of_a_closed_episode_stays_expired_and_takes_no_answer(
        self, episode, patient, clock
    ):
        day_1 = check_in(episode, 1)
        clock.move_to(day_1.expires_at + timedelta(hours=1))
        expire_check_ins()
        episode_after_procedure(patient=patient, performed_at=day_1.expires_at + timedelta(hours=2))
        day_1.refresh_from_db()
        assert day_1.state == CheckInState.EXPIRED
        with pytest.raises(CheckInClosed):
            answer(day_1, at=day_1.expires_at + timedelta(hours=3))

    def test_another_sites_episode_goes_on(self, episode, patient):
        other = episode_after_procedure(
            site_slug="thoracic", patient=patient, performed_at=PERFORMED + timedelta(days=2)
        )
        episode.refresh_from_db()
        assert episode.closed_at is None
        assert episode.check_ins.filter(state=CheckInState.SCHEDULED).count() == len(PLAN)
        assert other.check_ins.count() == len(PLAN)

    def test_another_patients_episode_at_the_site_goes_on(self, episode):
        episode_after_procedure(performed_at=PERFORMED + timedelta(days=2))
        episode.refresh_from_db()
        assert episode.closed_at is None


class TestReminderAndExpiry:
    def test_the_check_in_goes_at_its_due_time_and_the_reminder_a_day_later(self, episode):
        day_1 = check_in(episode, 1)

        def dispatch(now: datetime) -> set[tuple[str, str]]:
            claimed: list[int] = []
            dispatch_due_messages(enqueue=claimed.append, now=now)
            for message_id in claimed:
                assert send_message(message_id, now=now) == Outcome.SENT
            rows = Message.objects.filter(pk__in=claimed)
            return set(rows.values_list("kind", "channel"))

        assert dispatch(day_1.due_at - timedelta(minutes=1)) == set()
        assert dispatch(day_1.due_at) == {
            (MessageKind.CHECK_IN, Channel.EMAIL),
            (MessageKind.CHECK_IN, Channel.SMS),
        }
        assert dispatch(day_1.due_at + timedelta(hours=23)) == set()
        # The SMS cap (one a day) lets the reminder text go 24 hours after the first.
        assert dispatch(day_1.due_at + timedelta(hours=24)) == {
            (MessageKind.CHECK_IN_REMINDER, Channel.EMAIL),
            (MessageKind.CHECK_IN_REMINDER, Channel.SMS),
        }
        assert mail.outbox[0].subject.startswith("How is your pain?")
        assert mail.outbox[1].subject.startswith("A reminder: how is your pain?")

    def test_an_answer_cancels_the_reminder(self, episode):
        day_1 = check_in(episode, 1)
        answer(day_1, at=day_1.due_at + timedelta(hours=2))
        reminders = Message.objects.filter(check_in=day_1, kind=MessageKind.CHECK_IN_REMINDER)
        assert set(reminders.values_list("state", "skip_reason")) == {
            (MessageState.CANCELLED, "The check-in was answered.")
        }

    def test_an_unanswered_check_in_expires_72_hours_after_it_was_due(self, episode):
        day_1 = check_in(episode, 1)
        assert expire_check_ins(now=day_1.due_at + timedelta(hours=72) - timedelta(seconds=1)) == 0
        day_1.refresh_from_db()
        assert day_1.state == CheckInState.SCHEDULED
        assert expire_check_ins(now=day_1.due_at + timedelta(hours=72)) == 1
        day_1.refresh_from_db()
        assert day_1.state == CheckInState.EXPIRED

    def test_an_answered_check_in_never_expires(self, episode):
        day_1 = check_in(episode, 1)
        answer(day_1, at=day_1.due_at)
        expire_check_ins(now=day_1.due_at + timedelta(days=30))
        day_1.refresh_from_db()
        assert day_1.state == CheckInState.ANSWERED

    def test_the_times_are_settings(self, settings, patient):
        settings.CHECK_IN_REMINDER_AFTER_HOURS = 6
        settings.CHECK_IN_EXPIRES_AFTER_HOURS = 24
        episode = episode_after_procedure(patient=patient, performed_at=PERFORMED)
        day_1 = check_in(episode, 1)
        assert day_1.expires_at == day_1.due_at + timedelta(hours=24)
        reminder = Message.objects.get(
            check_in=day_1, kind=MessageKind.CHECK_IN_REMINDER, channel=Channel.EMAIL
        )
        assert reminder.due_at == day_1.due_at + timedelta(hours=6)


class TestLateAnswers:
    def test_an_answer_after_expiry_within_the_grace_is_kept_and_marked_late(self, episode):
        day_1 = check_in(episode, 1)
        expire_check_ins(now=day_1.expires_at)
        record = answer(day_1, at=day_1.expires_at + timedelta(hours=10), pain=5)
        assert record.late is True
        day_1.refresh_from_db()
        assert day_1.state == CheckInState.ANSWERED

    def test_an_answer_on_time_is_not_late(self, episode):
        day_1 = check_in(episode, 1)
        assert answer(day_1, at=day_1.expires_at).late is False

    def test_the_last_moment_of_the_grace_still_counts(self, episode):
        day_1 = check_in(episode, 1)
        assert answer(day_1, at=day_1.expires_at + timedelta(hours=72)).late is True

    def test_an_answer_beyond_the_grace_is_refused_and_nothing_saved(self, episode):
        day_1 = check_in(episode, 1)
        expire_check_ins(now=day_1.expires_at)
        with pytest.raises(CheckInClosed):
            answer(day_1, at=day_1.expires_at + timedelta(hours=72, seconds=1))
        assert not CheckInAnswer.objects.exists()
        day_1.refresh_from_db()
        assert day_1.state == CheckInState.EXPIRED

    def test_the_grace_is_a_setting(self, settings, episode):
        settings.CHECK_IN_LATE_GRACE_HOURS = 0
        day_1 = check_in(episode, 1)
        with pytest.raises(CheckInClosed):
            answer(day_1, at=day_1.expires_at + timedelta(seconds=1))

    def test_a_cancelled_check_in_takes_no_answer(self, episode):
        day_3 = check_in(episode, 3)
        CheckIn.objects.filter(pk=day_3.pk).update(state=CheckInState.CANCELLED)
        with pytest.raises(CheckInClosed):
            answer(day_3, at=day_3.due_at)


class TestReplaceThenLock:
    def test_a_second_answer_within_24_hours_replaces_the_first(self, episode):
        day_1 = check_in(episode, 1)
        first_at = day_1.due_at + timedelta(hours=1)
        first = answer(
            day_1, at=first_at, pain=7, relief_percent=10, side_effects=["soreness"], comment="ok"
        )
        second = answer(day_1, at=first_at + timedelta(hours=24), pain=3, pgic=2)
        assert second.pk == first.pk
        stored = CheckInAnswer.objects.get()
        assert (stored.pain, stored.relief_percent, stored.pgic, stored.side_effects) == (
            3,
            None,
            2,
            [],
        )
        assert stored.comment == ""
        assert stored.first_answered_at == first_at
        assert stored.answered_at == first_at + timedelta(hours=24)

    def test_after_24_hours_the_answer_is_locked(self, episode):
        day_1 = check_in(episode, 1)
        first_at = day_1.due_at + timedelta(hours=1)
        answer(day_1, at=first_at, pain=7)
        answer(day_1, at=first_at + timedelta(hours=12), pain=6)  # does not extend the window
        with pytest.raises(CheckInLocked, match="answered more than 24 hours ago"):
            answer(day_1, at=first_at + timedelta(hours=24, seconds=1), pain=2)
        assert CheckInAnswer.objects.get().pain == 6
        day_1.refresh_from_db()
        assert check_in_status(day_1, now=first_at + timedelta(hours=25)) == CheckInStatus.LOCKED

    @override_settings(CHECK_IN_EDIT_WINDOW_HOURS=48)
    def test_the_locked_answer_names_the_edit_window_of_the_settings(self, episode):
        day_1 = check_in(episode, 1)
        answer(day_1, at=day_1.due_at, pain=7)
        answer(day_1, at=day_1.due_at + timedelta(hours=47), pain=6)
        with pytest.raises(CheckInLocked) as locked:
            answer(day_1, at=day_1.due_at + timedelta(hours=48, seconds=1), pain=2)
        assert str(locked.value) == (
            "This check-in was answered more than 48 hours ago: the answer stands."
        )

    @pytest.mark.parametrize(
        ("hours", "words"), [(1, "1 hour"), (24, "24 hours"), (72, "72 hours")]
    )
    def test_the_edit_window_is_said_in_hours(self, hours, words):
        with override_settings(CHECK_IN_EDIT_WINDOW_HOURS=hours):
            assert edit_window_in_words() == words
            assert f"more than {words} ago" in locked_reason()

    def test_status_moves_open_changeable_locked(self, episode):
        day_1 = check_in(episode, 1)
        assert check_in_status(day_1, now=day_1.due_at) == CheckInStatus.OPEN
        answer(day_1, at=day_1.due_at)
        day_1 = CheckIn.objects.get(pk=day_1.pk)
        assert check_in_status(day_1, now=day_1.due_at + timedelta(hours=24)) == (
            CheckInStatus.CHANGEABLE
        )
        assert check_in_status(day_1, now=day_1.due_at + timedelta(hours=25)) == (
            CheckInStatus.LOCKED
        )
        beyond = day_1.expires_at + timedelta(hours=73)
        assert check_in_status(day_1, now=beyond) == CheckInStatus.CLOSED


class TestAnswerRecord:
    @pytest.mark.parametrize("route", list(AnswerRoute))
    def test_every_answer_keeps_its_time_route_and_time_point(self, episode, route):
        day_7 = check_in(episode, 7)
        at = day_7.due_at + timedelta(minutes=30)
        record, _ = record_answer(check_in=day_7, answer=AnswerDetails(pain=2), route=route, now=at)
        record.refresh_from_db()
        assert (record.answered_at, record.first_answered_at) == (at, at)
        assert record.route == route
        assert record.check_in.day == 7

    def test_side_effects_are_stored_once_each(self, episode):
        day_1 = check_in(episode, 1)
        record = answer(day_1, at=day_1.due_at, side_effects=["soreness", "bruising", "soreness"])
        assert record.side_effects == ["bruising", "soreness"]

    def test_previous_pain_is_the_patients_own_latest_earlier_answer(self, episode):
        day_1, day_3, day_7 = (check_in(episode, d) for d in (1, 3, 7))
        assert previous_pain(day_3) is None
        answer(day_1, at=day_1.due_at, pain=5)
        answer(day_3, at=day_3.due_at, pain=4)
        assert previous_pain(day_7) == 4
        assert previous_pain(day_3) == 5
        assert previous_pain(day_1) is None
        other = episode_after_procedure(performed_at=PERFORMED)  # another patient
        assert previous_pain(check_in(other, 3)) is None


def to_the_clinic(address: str = "alerts@clinic.example.org") -> list:
    return [email for email in mail.outbox if email.to == [address]]


class TestAlerts:
    def test_a_red_flag_alerts_the_treating_clinician_and_emails_the_clinic(
        self, settings, episode
    ):
        settings.CLINIC_ALERT_EMAIL = "alerts@clinic.example.org"
        day_3 = check_in(episode, 3)
        _, flags = record_answer(
            check_in=day_3,
            answer=AnswerDetails(pain=9, side_effects=["fever"]),
            route=AnswerRoute.WEB,
            now=day_3.due_at,
        )
        assert flags == ["Fever or chills", "Pain 9/10, 3 above baseline"]
        alert = Alert.objects.get()
        assert alert.clinician == episode.procedure.performed_by
        assert alert.reasons == flags
        assert alert.acknowledged_at is None
        send_due(day_3.due_at)
        # The location has no on-call contact and no one works there: the alert's
        # escalation, sent at once, goes to the alert contact too.
        alert_contact = [email for email in mail.outbox if "alerts@clinic.example.org" in email.to]
        assert len(alert_contact) == 2
        patient = episode.patient
        private = (patient.first_name, patient.last_name, patient.email, "Fever", "9/10")
        for email in alert_contact:
            assert "a red flag on a check-in" in email.subject
            assert "/staff/" in email.body
            for word in private:
                assert word not in email.subject + email.body

    def test_no_flag_no_alert(self, episode):
        day_1 = check_in(episode, 1)
        _, flags = record_answer(
            check_in=day_1,
            answer=AnswerDetails(pain=9, side_effects=["soreness", "flushing"]),
            route=AnswerRoute.WEB,
            now=day_1.due_at,
        )
        assert flags == []  # a day-1 flare and flushing are expected
        assert not Alert.objects.exists()
        assert not Message.objects.filter(kind=MessageKind.ALERT).exists()

    def test_a_replaced_answer_alerts_only_for_new_flags(self, settings, episode):
        settings.CLINIC_ALERT_EMAIL = "alerts@clinic.example.org"
        day_7 = check_in(episode, 7)
        answer(day_7, at=day_7.due_at, side_effects=["fever"])
        answer(day_7, at=day_7.due_at + timedelta(hours=1), side_effects=["fever"])
        answer(day_7, at=day_7.due_at + timedelta(hours=2), side_effects=["fever", "redness"])
        send_due(day_7.due_at + timedelta(hours=2))
        assert [alert.reasons for alert in Alert.objects.order_by("created", "pk")] == [
            ["Fever or chills"],
            ["Redness, swelling or warmth at the site"],
        ]
        assert Message.objects.filter(kind=MessageKind.ALERT).count() == 2  # one each


class TestLinks:
    def test_a_token_names_its_check_in(self, episode):
        day_3 = check_in(episode, 3)
        assert check_in_from_token(check_in_token(day_3), now=day_3.due_at) == (day_3, None)

    @pytest.mark.parametrize(
        "make_token",
        [
            lambda row: check_in_token(row)[:-2] + "xx",  # tampered
            lambda row: signing.dumps(row.pk, salt="booking.appointment.manage"),  # foreign
            lambda row: manage_token(row.episode.procedure.appointment),  # another purpose
            lambda row: signing.dumps(row.pk + 10_000, salt="followup.check_in"),  # unknown
            lambda row: signing.dumps("x", salt="followup.check_in"),
            lambda row: "",
        ],
    )
    def test_a_link_we_did_not_make_is_invalid(self, episode, make_token):
        assert check_in_from_token(make_token(check_in(episode, 3))) == (
            None,
            LinkProblem.INVALID,
        )

    def test_a_cancelled_or_too_late_check_in_is_closed(self, episode, clock):
        day_1, day_3 = check_in(episode, 1), check_in(episode, 3)
        CheckIn.objects.filter(pk=day_3.pk).update(state=CheckInState.CANCELLED)
        assert check_in_from_token(check_in_token(day_3)) == (None, LinkProblem.CLOSED)
        clock.move_to(day_1.expires_at + timedelta(hours=72))
        assert check_in_from_token(check_in_token(day_1)) == (day_1, None)
        clock.move_to(day_1.expires_at + timedelta(hours=72, seconds=1))
        assert check_in_from_token(check_in_token(day_1)) == (None, LinkProblem.CLOSED)


class TestOpenCheckInForPhone:
    def test_it_is_the_most_recent_due_one(self, episode):
        day_3 = check_in(episode, 3)
        assert (
            open_check_in_for_phone(PHONE, now=check_in(episode, 1).due_at - timedelta(seconds=1))
            is None
        )
        assert open_check_in_for_phone(PHONE, now=day_3.due_at) == day_3

    def test_within_the_edit_window_the_answered_one_is_still_open(self, episode):
        day_3 = check_in(episode, 3)
        answer(day_3, at=day_3.due_at)
        assert open_check_in_for_phone(PHONE, now=day_3.due_at + timedelta(hours=2)) == day_3

    def test_a_locked_newest_one_does_not_send_the_text_to_an_older_one(self, episode):
        day_3 = check_in(episode, 3)
        answer(day_3, at=day_3.due_at)
        # Day 1 is unanswered and still in its grace, but a text today is about today.
        assert open_check_in_for_phone(PHONE, now=day_3.due_at + timedelta(hours=25)) is None

    def test_an_unanswered_one_in_its_grace_is_open(self, episode):
        day_14 = check_in(episode, 14)
        moment = day_14.expires_at + timedelta(hours=1)
        expire_check_ins(now=moment)
        assert open_check_in_for_phone(PHONE, now=moment) == day_14
        assert open_check_in_for_phone(PHONE, now=day_14.expires_at + timedelta(hours=73)) is None

    def test_a_closed_episode_has_none(self, episode, patient, clock):
        clock.move_to(check_in(episode, 3).due_at + timedelta(hours=1))
        episode_after_procedure(
            patient=patient, performed_at=check_in(episode, 3).due_at + timedelta(hours=1)
        )
        assert (
            open_check_in_for_phone(PHONE, now=check_in(episode, 3).due_at + timedelta(hours=2))
            is None
        )

    def test_another_number_has_none(self, episode):
        assert open_check_in_for_phone("+18605550199", now=check_in(episode, 3).due_at) is None


def test_the_treating_clinician_is_the_one_who_injected(patient):
    injector = ClinicianFactory(display_name="Dr. Injector")
    episode = episode_after_procedure(patient=patient, clinician=injector, performed_at=PERFORMED)
    day_7 = check_in(episode, 7)
    answer(day_7, at=day_7.due_at, side_effects=["weakness"])
    assert Alert.objects.get().clinician == injector
