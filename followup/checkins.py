"""Check-ins: planned when a procedure opens an episode, answered by the patient (web,
SMS) or entered by staff, reminded once, expired, and locked after a day."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from itertools import chain

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from booking.formats import day_and_time
from booking.notifications import absolute_url
from booking.patients import visible_patients
from followup.alerts import plan_alert_messages
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
    SideEffect,
)
from followup.redflags import red_flags
from followup.reminders import out_of_quiet_hours, recipient_for

CHECK_IN_SALT = "followup.check_in"


class CheckInClosed(Exception):
    """The check-in takes no answer: cancelled, or expired beyond the grace period."""


class CheckInNotDue(CheckInClosed):
    """Before its due time: its link has not gone out, and an answer would be about a day
    that has not come. A kind of closed, so every route that refuses a closed check-in
    refuses this one too."""


class CheckInLocked(Exception):
    """Answered more than CHECK_IN_EDIT_WINDOW_HOURS ago: the answer stands."""


class WarningSignsNotAwaited(Exception):
    """No answer waits for a yes or no to the warning signs: none was given yet, or it holds
    one already (the first stands, so a later "no" never hides a "yes")."""


class CheckInStatus(StrEnum):
    """What a check-in accepts now."""

    OPEN = "open"  # no answer yet: the first one is taken (marked late after expiry)
    CHANGEABLE = "changeable"  # answered; a new answer replaces it until can_change_until
    LOCKED = "locked"  # answered; the answer stands
    CLOSED = "closed"  # cancelled, its episode closed unanswered, or past its grace period
    NOT_DUE = "not_due"  # before its due time: nothing is taken yet


class LinkProblem(StrEnum):
    """Why a check-in link shows nothing."""

    INVALID = "invalid"  # tampered, foreign or unknown: not a link we made
    CLOSED = "closed"  # ours, but the check-in was cancelled or is past its grace period


@dataclass(frozen=True)
class AnswerDetails:
    pain: int
    relief_percent: int | None = None
    pgic: int | None = None
    side_effects: list[str] = field(default_factory=list)
    activity: str = ""
    medication: str = ""
    comment: str = ""


def details_of(answer: CheckInAnswer) -> AnswerDetails:
    """A stored answer as the details record_answer takes (to change one part of it)."""
    return AnswerDetails(
        pain=answer.pain,
        relief_percent=answer.relief_percent,
        pgic=answer.pgic,
        side_effects=list(answer.side_effects),
        activity=answer.activity,
        medication=answer.medication,
        comment=answer.comment,
    )


# --- links -------------------------------------------------------------------------------


def check_in_token(check_in: CheckIn) -> str:
    return signing.dumps(check_in.pk, salt=CHECK_IN_SALT)


def check_in_url(check_in: CheckIn) -> str:
    return absolute_url(reverse("followup:check_in", args=[check_in_token(check_in)]))


def answerable_until(check_in: CheckIn) -> datetime:
    return check_in.expires_at + timedelta(hours=settings.CHECK_IN_LATE_GRACE_HOURS)


def answer_of(check_in: CheckIn) -> CheckInAnswer | None:
    try:
        return check_in.answer
    except CheckInAnswer.DoesNotExist:
        return None


def can_change_until(answer: CheckInAnswer) -> datetime:
    """Until when a new answer replaces this one (the first answer's time plus the window)."""
    return answer.first_answered_at + timedelta(hours=settings.CHECK_IN_EDIT_WINDOW_HOURS)


def edit_window_in_words() -> str:
    """CHECK_IN_EDIT_WINDOW_HOURS as people read it ("24 hours")."""
    hours = settings.CHECK_IN_EDIT_WINDOW_HOURS
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def locked_reason() -> str:
    """Why a locked check-in takes no new answer: the one wording of every route."""
    return f"This check-in was answered more than {edit_window_in_words()} ago: the answer stands."


def check_in_status(check_in: CheckIn, *, now: datetime | None = None) -> CheckInStatus:
    """Whether the check-in takes a first answer, a replacement, or nothing.

    An episode closed by a new procedure at the same site takes no new answers: they
    would describe the new injection, not the one the episode follows.
    """
    now = now or timezone.now()
    if check_in.state == CheckInState.CANCELLED or now > answerable_until(check_in):
        return CheckInStatus.CLOSED
    if now < check_in.due_at:
        return CheckInStatus.NOT_DUE
    answer = answer_of(check_in)
    closed_episode = check_in.episode.closed_at is not None
    if answer is None:
        return CheckInStatus.CLOSED if closed_episode else CheckInStatus.OPEN
    if closed_episode or now > can_change_until(answer):
        return CheckInStatus.LOCKED
    return CheckInStatus.CHANGEABLE


def check_in_from_token(
    token: str, *, now: datetime | None = None
) -> tuple[CheckIn | None, LinkProblem | None]:
    """The check-in a link names and what is wrong with the link, if anything.

    (check-in, None) for a link that shows its check-in (open, changeable or locked);
    (None, INVALID) for a link we did not make or have not sent yet (its check-in is not
    due); (None, CLOSED) for one we made whose check-in is cancelled or past its grace
    period. Neither says whose it was.
    """
    try:
        check_in_id = int(signing.loads(token, salt=CHECK_IN_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None, LinkProblem.INVALID
    check_in = (
        CheckIn.objects.select_related(
            "episode__patient",
            "episode__site",
            "episode__procedure__appointment__location",
            "answer",
        )
        .filter(pk=check_in_id)
        .first()
    )
    if check_in is None:
        return None, LinkProblem.INVALID
    status = check_in_status(check_in, now=now)
    if status == CheckInStatus.NOT_DUE:  # not a link we have sent yet
        return None, LinkProblem.INVALID
    if status == CheckInStatus.CLOSED:
        return None, LinkProblem.CLOSED
    return check_in, None


def previous_pain(check_in: CheckIn) -> int | None:
    """The pain the patient gave at the episode's latest earlier answered check-in."""
    return (
        CheckInAnswer.objects.filter(
            check_in__episode_id=check_in.episode_id, check_in__due_at__lt=check_in.due_at
        )
        .order_by("-check_in__due_at")
        .values_list("pain", flat=True)
        .first()
    )


def answer_red_flags(answer: CheckInAnswer) -> list[str]:
    """The red flags a stored answer raises (the same rules record_answer applied)."""
    check_in = answer.check_in
    episode = check_in.episode
    return red_flags(
        side_effects=answer.side_effects,
        pain=answer.pain,
        baseline=episode.baseline_pain,
        day=check_in.day,
        site_slug=episode.site.slug,
    )


# --- planning ----------------------------------------------------------------------------


def plan_check_ins(episode: Episode) -> list[CheckIn]:
    """A check-in for each day of the site's plan, due at CHECK_IN_HOUR local time, with
    its messages (and one reminder a day later) by the channels the patient agreed to."""
    appointment = episode.procedure.appointment
    zone = appointment.location.zone
    procedure_day = episode.started_at.astimezone(zone).date()
    check_ins = []
    for step in FollowUpStep.objects.filter(site=episode.site):
        if step.minutes_after is not None:
            due = episode.started_at + timedelta(minutes=step.minutes_after)
        else:
            local_due = datetime.combine(
                procedure_day + timedelta(days=step.day),
                time(settings.CHECK_IN_HOUR),
                tzinfo=zone,
            )
            due = out_of_quiet_hours(local_due.astimezone(UTC), zone)
        check_in = CheckIn.objects.create(
            episode=episode,
            day=step.day,
            due_at=due,
            expires_at=due + timedelta(hours=settings.CHECK_IN_EXPIRES_AFTER_HOURS),
        )
        reminder_due = out_of_quiet_hours(
            due + timedelta(hours=settings.CHECK_IN_REMINDER_AFTER_HOURS), zone
        )
        for channel in ("email", "sms"):
            recipient = recipient_for(appointment.patient, channel)
            if recipient is None:
                continue
            for kind, due_at in (
                (MessageKind.CHECK_IN, due),
                (MessageKind.CHECK_IN_REMINDER, reminder_due),
            ):
                if due_at < check_in.expires_at:
                    Message.objects.create(
                        appointment=appointment,
                        patient=appointment.patient,
                        check_in=check_in,
                        kind=kind,
                        channel=channel,
                        recipient=recipient,
                        due_at=due_at,
                    )
        check_ins.append(check_in)
    return check_ins


def close_episode(episode: Episode, *, reason: str, now: datetime) -> None:
    """Cancel the episode's unanswered scheduled check-ins and their pending messages;
    keep what was answered (and what expired, as it was).

    Check-ins already due but not answered are cancelled too: an answer given after the
    new procedure would describe it, not the one this episode follows."""
    unanswered = episode.check_ins.filter(state=CheckInState.SCHEDULED)
    Message.objects.filter(check_in__in=unanswered, state=MessageState.SCHEDULED).update(
        state=MessageState.CANCELLED, skip_reason=reason
    )
    unanswered.update(state=CheckInState.CANCELLED, cancel_reason=reason)
    episode.closed_at = now
    episode.close_reason = reason
    episode.save(update_fields=["closed_at", "close_reason"])


def expire_check_ins(*, now: datetime | None = None) -> int:
    """Mark unanswered check-ins past their expiry `expired`; return how many."""
    return CheckIn.objects.filter(
        state=CheckInState.SCHEDULED, expires_at__lte=now or timezone.now()
    ).update(state=CheckInState.EXPIRED)


# --- answers -----------------------------------------------------------------------------


def open_check_in_for_phone(phone: str, *, now: datetime) -> CheckIn | None:
    """The patient's most recent check-in that is due, if it still takes an answer (a
    first one, or a replacement within the edit window).

    Only the most recent one: a text sent today is about today's pain, so it never goes
    to an older check-in when the newest is answered and locked or past its grace.
    """
    latest = (
        CheckIn.objects.filter(episode__patient__phone=phone, due_at__lte=now)
        .exclude(state=CheckInState.CANCELLED)
        .filter(episode__closed_at__isnull=True)
        .select_related("episode__procedure__appointment__location", "answer")
        .order_by("-due_at", "-pk")
        .first()
    )
    if latest is None:
        return None
    if check_in_status(latest, now=now) in (CheckInStatus.OPEN, CheckInStatus.CHANGEABLE):
        return latest
    return None


@transaction.atomic
def record_answer(
    *,
    check_in: CheckIn,
    answer: AnswerDetails,
    route: AnswerRoute,
    entered_by: object = None,
    now: datetime | None = None,
) -> tuple[CheckInAnswer, list[str]]:
    """Store the answer (replacing one given within the edit window) and raise an alert
    for any red flag not raised on this answer before. Returns the answer and every red
    flag it raises (for the "call the clinic" instruction)."""
    now = now or timezone.now()
    check_in = (
        CheckIn.objects.select_for_update(of=("self",))
        .select_related("episode__site", "episode__procedure")
        .get(pk=check_in.pk)
    )
    status = check_in_status(check_in, now=now)
    if status == CheckInStatus.NOT_DUE:
        zone = check_in.episode.procedure.appointment.location.zone
        raise CheckInNotDue(
            "This check-in is not due yet: it takes answers from "
            f"{day_and_time(check_in.due_at.astimezone(zone))}."
        )
    if status == CheckInStatus.CLOSED:
        raise CheckInClosed("This check-in no longer takes answers.")
    if status == CheckInStatus.LOCKED:
        raise CheckInLocked(locked_reason())
    values = {
        "pain": answer.pain,
        "relief_percent": answer.relief_percent,
        "pgic": answer.pgic,
        "side_effects": sorted(set(answer.side_effects)),
        "activity": answer.activity,
        "medication": answer.medication,
        "comment": answer.comment,
        "route": route,
        "entered_by": entered_by,
        "answered_at": now,
        "late": now > check_in.expires_at,
    }
    record, _ = CheckInAnswer.objects.update_or_create(
        check_in=check_in,
        defaults=values,
        create_defaults={**values, "first_answered_at": now},
    )
    record.check_in = check_in
    check_in.state = CheckInState.ANSWERED
    check_in.save(update_fields=["state"])
    Message.objects.filter(check_in=check_in, state=MessageState.SCHEDULED).update(
        state=MessageState.CANCELLED, skip_reason="The check-in was answered."
    )
    flags = answer_red_flags(record)
    # A replaced answer that repeats a red flag raises no second alert (nor email).
    raised = set(
        chain.from_iterable(Alert.objects.filter(answer=record).values_list("reasons", flat=True))
    )
    new_flags = [flag for flag in flags if flag not in raised]
    if new_flags:
        alert = Alert.objects.create(
            answer=record, clinician=check_in.episode.procedure.performed_by, reasons=new_flags
        )
        plan_alert_messages(alert, now=now)
    return record, flags


def warning_signs_answered(answer: CheckInAnswer) -> bool:
    """Whether the answer holds a yes (WARNING_SIGN) or no (NONE) to the warning signs."""
    return not {SideEffect.WARNING_SIGN, SideEffect.NONE}.isdisjoint(answer.side_effects)


@transaction.atomic
def answer_warning_signs(
    *, check_in: CheckIn, present: bool, route: AnswerRoute, now: datetime | None = None
) -> tuple[CheckInAnswer, list[str]]:
    """Add the patient's yes (`present`: WARNING_SIGN) or no (NONE) to the warning-sign
    question to the check-in's answer, by `record_answer`: the same acceptance rules, and
    an alert for any red flag it now raises. WarningSignsNotAwaited when the check-in has no
    answer or its answer holds a yes or no already."""
    locked = CheckIn.objects.select_for_update(of=("self",)).get(pk=check_in.pk)
    stored = CheckInAnswer.objects.filter(check_in=locked).first()
    if stored is None or warning_signs_answered(stored):
        raise WarningSignsNotAwaited
    details = details_of(stored)
    said = SideEffect.WARNING_SIGN if present else SideEffect.NONE
    return record_answer(
        check_in=locked,
        answer=replace(details, side_effects=[*details.side_effects, said]),
        route=route,
        now=now,
    )


# --- sending the link again ----------------------------------------------------------------

# A second request within this time of a resend on the same channel (a double click, two
# staff members at once) sends nothing more.
RESEND_INTERVAL = timedelta(hours=1)
RESEND_PENDING = (MessageState.SCHEDULED, MessageState.SENDING)


class ResendRefused(Exception):
    """The check-in's link is not sent again: the reason says why, in words for staff."""


class NotAllowedToResend(Exception):
    """Staff who may not open the patient's record may not message them either."""


def by_channel(channel: str) -> str:
    return "by SMS" if channel == Channel.SMS else "by email"


def _resend_refusal(check_in: CheckIn, now: datetime) -> str:
    """Why the check-in's link may not go out again now ('' if it may). Only an open
    check-in before its expiry: after it, the send path would drop the message (it is
    worth sending until the check-in expires), so staff enter an answer by phone instead."""
    zone = check_in.episode.procedure.appointment.location.zone
    status = check_in_status(check_in, now=now)
    if status == CheckInStatus.NOT_DUE:
        return (
            "This check-in is not due yet: its link goes out on "
            f"{day_and_time(check_in.due_at.astimezone(zone))}."
        )
    if status in (CheckInStatus.CHANGEABLE, CheckInStatus.LOCKED):
        return "This check-in is answered."
    if status == CheckInStatus.CLOSED:
        return "This check-in no longer takes answers."
    if now >= check_in.expires_at:
        return "This check-in has expired: enter the answer given by phone instead."
    return ""


def _recent_resend(check_in: CheckIn, channel: str, now: datetime) -> Message | None:
    """A resend on `channel` still waiting to go out, or sent within RESEND_INTERVAL."""
    return (
        Message.objects.filter(check_in=check_in, kind=MessageKind.CHECK_IN_RESENT, channel=channel)
        .filter(Q(state__in=RESEND_PENDING) | Q(sent_at__gt=now - RESEND_INTERVAL))
        .order_by("-pk")
        .first()
    )


@transaction.atomic
def resend_check_in(
    check_in: CheckIn,
    channel: str,
    by_user: AbstractBaseUser | AnonymousUser,
    now: datetime | None = None,
) -> Message:
    """Send the check-in's link to the patient again by `channel`: a CHECK_IN_RESENT row,
    due now (a text waits out the quiet hours), sent like every message, so the patient's
    consent and SMS caps apply when it goes. Raises ResendRefused when the check-in takes
    no answer now, the patient has not agreed to the channel, or it was just sent again;
    NotAllowedToResend when `by_user` may not open the patient's record."""
    now = now or timezone.now()
    channel = Channel(channel)  # ValueError for a channel the clinic does not have
    # Locked, so two requests at once are counted one after the other.
    check_in = (
        CheckIn.objects.select_for_update(of=("self",))
        .select_related("episode__patient", "episode__procedure__appointment__location", "answer")
        .get(pk=check_in.pk)
    )
    patient = check_in.episode.patient
    if not visible_patients(by_user).filter(pk=patient.pk).exists():
        raise NotAllowedToResend("Only staff who may open the patient's record may.")
    refusal = _resend_refusal(check_in, now)
    if refusal:
        raise ResendRefused(refusal)
    recipient = recipient_for(patient, channel)
    if recipient is None:
        raise ResendRefused(f"The patient has not agreed to messages {by_channel(channel)}.")
    recent = _recent_resend(check_in, channel, now)
    if recent is not None:
        raise ResendRefused(
            f"The link was already sent again {by_channel(channel)} "
            f"{'less than an hour ago' if recent.sent_at else 'and is waiting to go out'}."
        )
    appointment = check_in.episode.procedure.appointment
    due = now if channel == Channel.EMAIL else out_of_quiet_hours(now, appointment.location.zone)
    if due >= check_in.expires_at:
        raise ResendRefused("A text now would wait for the morning, after the check-in expires.")
    return Message.objects.create(
        appointment=appointment,
        patient=patient,
        check_in=check_in,
        kind=MessageKind.CHECK_IN_RESENT,
        channel=channel,
        recipient=recipient,
        due_at=due,
    )
