"""Texts patients send us: opt out, opt back in, confirm the next visit, answer a check-in.

Each inbound SMS is an InboundSms row keyed by the provider's id, so a webhook the provider
repeats has one effect and gets the same reply. Replies carry what a reminder may carry
(clinic name, date and time), never a pain score; a number that matches no patient gets
the general help text and changes nothing. A bare pain score answers (or, within the edit
window, corrects) the most recent due check-in, and a Y or N that follows answers the
warning-sign question; docs/architecture.md states the conversation in full ("Inbound
SMS").
"""

import logging
import re
import string
from dataclasses import replace
from datetime import datetime

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from booking.models import Appointment, AppointmentStatus, Patient
from booking.schedules import staffed_at
from config.logs import masked
from followup.checkins import (
    AnswerDetails,
    CheckInClosed,
    CheckInLocked,
    WarningSignsNotAwaited,
    answer_of,
    answer_red_flags,
    answer_warning_signs,
    details_of,
    open_check_in_for_phone,
    record_answer,
    warning_signs_answered,
)
from followup.content import SMS_OPT_OUT
from followup.models import (
    AnswerRoute,
    Channel,
    CheckIn,
    CheckInAnswer,
    CheckInState,
    InboundOutcome,
    InboundSms,
    Message,
    MessageState,
)
from followup.reminders import plan_reminders

logger = logging.getLogger(__name__)

# Twilio blocks further texts after these words (and replies itself), so we follow them.
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
CONFIRM_WORDS = frozenset({"C", "CONFIRM"})
# Answers to the warning-sign question; S and SI (SÍ) from Spanish speakers.
YES_WORDS = frozenset({"Y", "YES", "S", "SI", "SÍ"})
NO_WORDS = frozenset({"N", "NO"})
EMERGENCY_NUMBER = "911"
OPTED_OUT_REASON = "The patient opted out."
# A whole number, optionally "/10", optionally a full stop: "7", "7/10", " 7 ", "7.".
PAIN_REPLY = re.compile(r"([0-9]{1,2})(?:\s*/\s*10)?\s*\.?")


def keyword(body: str) -> str:
    """The message as one upper-case word, as carriers read keywords: ' Stop. ' is STOP."""
    return " ".join(body.split()).strip(string.punctuation + " ").upper()


def e164(number: str) -> str | None:
    """`number` in E.164, or None when it is no phone number (a short code, a name)."""
    try:
        parsed = phonenumbers.parse(number, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_pain(body: str) -> int | None:
    """The pain score a text gives (0-10), or None when it is not just a score."""
    match = PAIN_REPLY.fullmatch(body.strip())
    if match is None:
        return None
    pain = int(match.group(1))
    return pain if 0 <= pain <= 10 else None


def help_reply(*, check_in_waiting: bool = False) -> str:
    if check_in_waiting:
        return (
            f"{settings.CLINIC_NAME}: reply with a number from 0 (no pain) to 10 (worst pain "
            f"imaginable) for your pain right now, or open the link in our message. Reply C "
            f"to confirm your next appointment. {SMS_OPT_OUT}"
        )
    return (
        f"{settings.CLINIC_NAME}: reply C to confirm your next appointment. To change or "
        f"cancel it, use the link in your reminder or call the clinic. {SMS_OPT_OUT}"
    )


def handle_inbound_sms(*, sid: str, from_number: str, body: str, now: datetime) -> str:
    """Act on one inbound text and return the reply to send ('' for none).

    A second call with the same `sid` changes nothing and returns the first reply.
    """
    number = e164(from_number)
    patients = Patient.objects.filter(phone=number) if number else Patient.objects.none()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = InboundSms.objects.create(
                    provider_sid=sid,
                    from_number=number or from_number.strip()[:32],
                    body=body,
                    received_at=now,
                    outcome=InboundOutcome.HELP,
                )
        except IntegrityError:
            # Delivered before (or at this very moment, by a parallel request that got
            # there first): answer as the first time and do nothing.
            return InboundSms.objects.get(provider_sid=sid).reply
        outcome, reply = _act(patients, number, body, now)
        record.outcome, record.reply = outcome, reply
        record.save(update_fields=["outcome", "reply"])
    logger.info("inbound SMS %s from %s: %s", sid, masked(record.from_number), outcome)
    return reply


def _act(
    patients: QuerySet[Patient], number: str | None, body: str, now: datetime
) -> tuple[str, str]:
    word = keyword(body)
    if number is None or not patients.exists():
        return InboundOutcome.UNKNOWN_NUMBER, "" if word in OPT_OUT_WORDS else help_reply()
    pain = parse_pain(body)
    if pain is not None:
        return record_pain_reply(number, pain, now=now)
    if word in OPT_OUT_WORDS:
        return InboundOutcome.OPTED_OUT, opt_out(patients)
    yes_or_no = word in YES_WORDS | NO_WORDS
    if yes_or_no and (asked := _check_in_asking_warning_signs(number, now=now)):
        return record_warning_signs_reply(asked, present=word in YES_WORDS, now=now)
    if word in OPT_IN_WORDS:  # a YES that answers no question
        return InboundOutcome.OPTED_IN, opt_in(patients, now=now)
    if word in CONFIRM_WORDS:
        return confirm_next_appointment(patients, now=now)
    if yes_or_no:
        return InboundOutcome.NO_OPEN_CHECK_IN, _nothing_to_answer()
    waiting = open_check_in_for_phone(number, now=now) is not None
    return InboundOutcome.HELP, help_reply(check_in_waiting=waiting)


def record_pain_reply(phone: str, pain: int, *, now: datetime) -> tuple[str, str]:
    """Record `pain` on the open check-in of the patient with this number; ask them to
    call the clinic if the answer raised a red flag (a flare can), else ask about the
    warning signs unless the answer tells already."""
    check_in = open_check_in_for_phone(phone, now=now)
    if check_in is not None:
        existing = answer_of(check_in)
        # Replacing a fuller answer (from the page) changes its score and keeps the rest.
        details = (
            AnswerDetails(pain=pain)
            if existing is None
            else replace(details_of(existing), pain=pain)
        )
        try:
            answer, flags = record_answer(
                check_in=check_in, answer=details, route=AnswerRoute.SMS, now=now
            )
        except (CheckInClosed, CheckInLocked):
            pass
        else:
            if flags:
                return InboundOutcome.PAIN_RECORDED, _call_now(check_in, now=now)
            if _asks_warning_signs(answer):
                return InboundOutcome.PAIN_RECORDED, _warning_signs_question()
            return InboundOutcome.PAIN_RECORDED, _thanks()
    return InboundOutcome.NO_OPEN_CHECK_IN, _nothing_to_answer(next_check_in(phone, now=now))


def _asks_warning_signs(answer: CheckInAnswer) -> bool:
    """Whether our reply to this answer asked about the warning signs and awaits the yes
    or no: it was a score by text that raised no red flag (that reply asks them to call
    instead), and the answer holds no yes or no yet."""
    return (
        answer.route == AnswerRoute.SMS
        and not warning_signs_answered(answer)
        and not answer_red_flags(answer)
    )


def _check_in_asking_warning_signs(phone: str, *, now: datetime) -> CheckIn | None:
    """The check-in whose score this number just gave by text, if our reply asked about
    the warning signs and it still takes changes (open or changeable)."""
    check_in = open_check_in_for_phone(phone, now=now)
    answer = answer_of(check_in) if check_in is not None else None
    return check_in if answer is not None and _asks_warning_signs(answer) else None


def record_warning_signs_reply(
    check_in: CheckIn, *, present: bool, now: datetime
) -> tuple[str, str]:
    """Add the patient's yes or no to the warning signs to their answer: a yes (an alert
    for the clinician) asks them to call the clinic now, a no is thanked."""
    try:
        answer_warning_signs(check_in=check_in, present=present, route=AnswerRoute.SMS, now=now)
    except (CheckInClosed, CheckInLocked, WarningSignsNotAwaited):
        # Answered or locked by a text processed at this very moment.
        return InboundOutcome.NO_OPEN_CHECK_IN, _nothing_to_answer()
    if present:
        return InboundOutcome.WARNING_SIGNS, _call_now(check_in, now=now)
    return InboundOutcome.NO_WARNING_SIGNS, _thanks()


def _warning_signs_question() -> str:
    # Two segments at most with a clinic name of up to 30 characters.
    return (
        f"{settings.CLINIC_NAME}: thanks. Do you have fever or chills; redness, warmth, "
        f"swelling or pus where you were treated; new weakness or numbness; chest pain or "
        f"breathlessness; rash, hives or swollen face or lips; severe headache; or new bowel "
        f"or bladder problems? Reply Y or N. {SMS_OPT_OUT}"
    )


def _thanks() -> str:
    return (
        f"{settings.CLINIC_NAME}: thank you, your answer is with the clinic. To tell us more, "
        f"open the link in our message. {SMS_OPT_OUT}"
    )


def _call_now(check_in: CheckIn, *, now: datetime) -> str:
    """Call the clinic's location now; when no clinician is scheduled there, also the
    emergency number (no one may answer, and waiting for the morning may be too late)."""
    location = check_in.episode.procedure.appointment.location
    closed = (
        ""
        if staffed_at(location, now)
        else f" The clinic is closed now: if you cannot reach us or feel very unwell, call "
        f"{EMERGENCY_NUMBER}."
    )
    return (
        f"{settings.CLINIC_NAME}: thank you for your answer. Please call the clinic now on "
        f"{location.phone.as_national}: a clinician needs to hear from you.{closed} "
        f"{SMS_OPT_OUT}"
    )


def next_check_in(phone: str, *, now: datetime) -> CheckIn | None:
    """The patient's next check-in not yet due, in an open episode."""
    return (
        CheckIn.objects.filter(
            episode__patient__phone=phone,
            episode__closed_at__isnull=True,
            state=CheckInState.SCHEDULED,
            due_at__gt=now,
        )
        .select_related("episode__procedure__appointment__location")
        .order_by("due_at", "pk")
        .first()
    )


def _nothing_to_answer(upcoming: CheckIn | None = None) -> str:
    """Nothing was recorded; when a check-in is still to come, when it opens (the
    location's date and time)."""
    opens = ""
    if upcoming is not None:
        due = upcoming.due_at.astimezone(upcoming.episode.procedure.appointment.location.zone)
        opens = f" Your next check-in opens on {due:%b} {due.day}, {due.year} at {due:%-I:%M %p}."
    return (
        f"{settings.CLINIC_NAME}: thank you. We have no check-in waiting for your answer just "
        f"now, so nothing was recorded.{opens} If you need help, please call the clinic. "
        f"{SMS_OPT_OUT}"
    )


def opt_out(patients: QuerySet[Patient]) -> str:
    """No more texts to these patients: consent off, scheduled texts cancelled now.

    Texts already claimed by the dispatcher are cancelled when sent, since sending checks
    consent. The reply is empty: Twilio confirms the opt-out itself and refuses any text to
    a number that has just opted out.
    """
    ids = list(patients.values_list("pk", flat=True))
    Patient.objects.filter(pk__in=ids).update(consent_sms=False)
    Message.objects.filter(
        appointment__patient__in=ids, channel=Channel.SMS, state=MessageState.SCHEDULED
    ).update(state=MessageState.CANCELLED, skip_reason=OPTED_OUT_REASON)
    return ""


def opt_in(patients: QuerySet[Patient], *, now: datetime) -> str:
    """Texts again: consent on, and reminders of future visits re-planned."""
    ids = list(patients.values_list("pk", flat=True))
    Patient.objects.filter(pk__in=ids).update(consent_sms=True)
    upcoming = Appointment.objects.filter(
        patient__in=ids, status=AppointmentStatus.BOOKED, start__gt=now
    ).select_related("patient", "location", "site")
    for appointment in upcoming:
        plan_reminders(appointment, now=now)
    return (
        f"{settings.CLINIC_NAME}: you will get appointment reminders by text again. {SMS_OPT_OUT}"
    )


def confirm_next_appointment(patients: QuerySet[Patient], *, now: datetime) -> tuple[str, str]:
    """Mark the next booked visit of these patients confirmed; say when it is."""
    appointment = (
        Appointment.objects.filter(patient__in=patients, status=AppointmentStatus.BOOKED)
        .filter(start__gt=now)
        .select_related("location")
        .order_by("start", "pk")
        .first()
    )
    if appointment is None:
        return InboundOutcome.NOTHING_TO_CONFIRM, (
            f"{settings.CLINIC_NAME}: we found no upcoming appointment to confirm. "
            f"Please call the clinic. {SMS_OPT_OUT}"
        )
    if appointment.confirmed_at is None:
        appointment.confirmed_at = now
        appointment.save(update_fields=["confirmed_at", "updated"])
    local = appointment.local_start
    when = f"{local:%A} {local.day} {local:%B} at " + f"{local:%I:%M %p %Z}".lstrip("0")
    return InboundOutcome.CONFIRMED, (
        f"{settings.CLINIC_NAME}: thank you, your appointment on {when} is confirmed. {SMS_OPT_OUT}"
    )
