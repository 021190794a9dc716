"""Sending one claimed message, exactly once.

The row is locked while it is sent and marked `sent` with the provider's id in the same
transaction, so a second task for the same message (a duplicate delivery, a reclaim)
waits, then finds it no longer `sending` and does nothing. If the database connection
breaks after the provider took the message, `sent` is written again on a new one. A
transient failure puts the row back on the schedule with a backoff: retries are rows with
due times too, never countdown tasks that a broker restart could lose.
"""

import logging
import time
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from booking.models import Patient
from config.logs import masked
from followup import message_kinds
from followup.channels import (
    PermanentSendError,
    RecipientOptedOut,
    TransientSendError,
    check_phone_number,
    sender_for,
)
from followup.inbound import OPTED_OUT_REASON, opt_out
from followup.models import Channel, Message, MessageState

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    NOT_SENDING = "not sending"  # already sent, cancelled, or claimed by no one
    RETRY_LATER = "retry later"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failed attempt, at most an hour."""
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def send_message(message_id: int, *, now: datetime | None = None) -> Outcome:
    """Send the claimed message `message_id` unless it is no longer `sending`.

    A worker keeps its database connection between sends and does not check it before each
    one (a check is a round trip of its own: docs/performance.md). If PostgreSQL ended it
    meanwhile (a restart, a failover), the send's first statement fails, before anything
    was sent or written; the send then runs once more, on a new connection.
    """
    now = now or timezone.now()
    try:
        return _send(message_id, now, first_try=True)
    except _FirstStatementFailed as failure:
        logger.warning("message %s: %s; sending on a new connection", message_id, failure)
        connection.close_if_unusable_or_obsolete()
    return _send(message_id, now, first_try=False)


class _FirstStatementFailed(Exception):
    """The database failed the send's first statement: nothing was sent or written."""


def _send(message_id: int, now: datetime, *, first_try: bool) -> Outcome:
    # Only a transaction of the send's own may run again on a new connection: inside a
    # caller's, the caller's writes went with the broken connection.
    own_transaction = not connection.in_atomic_block
    message = None
    try:
        with transaction.atomic():
            message = _locked(message_id)
            if message is None or message.state != MessageState.SENDING:
                return Outcome.NOT_SENDING
            reason = message_kinds.no_longer_wanted(message)
            if reason:
                _finish(message, MessageState.CANCELLED, skip_reason=reason)
                return Outcome.CANCELLED
            if not message_kinds.consented(message):
                _finish(message, MessageState.CANCELLED, skip_reason=OPTED_OUT_REASON)
                return Outcome.CANCELLED
            if message.channel == Channel.SMS and message_kinds.rules_of(message).sms_capped:
                sent_this_week = _sms_sent_this_week(message, now)
                if _over_sms_cap(sent_this_week, now):
                    return _reroute_over_cap(message, sent_this_week, now)
            return _deliver(message, now)
    except (InterfaceError, OperationalError) as error:
        if message is None and own_transaction and first_try:
            raise _FirstStatementFailed(type(error).__name__) from error
        # The provider took the message, then the database connection broke before `sent`
        # was committed (PostgreSQL restarted, the backend was terminated): record it on a
        # new connection, or the row's reclaim would send it a second time.
        if message is None or message.state != MessageState.SENT:
            raise
        return _record_sent_again(message)


def _locked(message_id: int) -> Message | None:
    """The message with the rows most kinds read (visit, location, patient, check-in), its
    row locked until the transaction ends. An offer's or an alert's message loads its offer
    or alert when it reads it: every join costs every send its compiling and PostgreSQL's
    planning (docs/performance.md, "Burst"). NO KEY UPDATE, as an UPDATE of the row takes:
    booking the patient a visit meanwhile (its foreign key check takes KEY SHARE) need not
    wait for a provider. `get`, not `first`: one row needs no ORDER BY, which would cost
    its compiling too."""
    try:
        return (
            Message.objects.select_for_update(of=("self",), no_key=True)
            .select_related("appointment__location", "patient", "check_in")
            .get(pk=message_id)
        )
    except Message.DoesNotExist:
        return None


def _deliver(message: Message, now: datetime) -> Outcome:
    message.attempts += 1
    try:
        if message.channel == Channel.SMS:
            check_phone_number(message.recipient)
        outbound = message_kinds.render(message)
        provider_id = sender_for(message.channel).send(outbound)
    except RecipientOptedOut as error:
        # A STOP the provider has and we missed: record it as the webhook would have.
        if message.patient is not None:
            opt_out(Patient.objects.filter(pk=message.patient.pk))
        _finish(
            message, MessageState.CANCELLED, skip_reason=OPTED_OUT_REASON, last_error=str(error)
        )
        logger.info("message %s cancelled: the number opted out at the provider", message.pk)
        return Outcome.CANCELLED
    except PermanentSendError as error:
        _finish(message, MessageState.FAILED, last_error=str(error))
        message_kinds.record_outcome(message, now)
        # The provider's words may quote the number: they stay in last_error, not the log.
        logger.warning("message %s failed: %s", message.pk, type(error).__name__)
        return Outcome.FAILED
    except TransientSendError as error:
        if message.attempts >= settings.MESSAGE_MAX_ATTEMPTS:
            _finish(message, MessageState.FAILED, last_error=str(error))
            message_kinds.record_outcome(message, now)
            logger.warning("message %s failed after %s attempts", message.pk, message.attempts)
            return Outcome.FAILED
        retry_at = message_kinds.next_try(message, now + backoff(message.attempts))
        if retry_at >= message_kinds.useful_until(message):
            _finish(message, MessageState.FAILED, last_error=f"{error} (no time left to retry)")
            message_kinds.record_outcome(message, now)
            return Outcome.FAILED
        _finish(message, MessageState.SCHEDULED, last_error=str(error), due_at=retry_at)
        return Outcome.RETRY_LATER
    _finish(message, MessageState.SENT, provider_message_id=provider_id, sent_at=now, last_error="")
    message_kinds.record_outcome(message, now)
    logger.info(
        "sent message %s (%s %s) to %s as %s",
        message.pk,
        message.kind,
        message.channel,
        masked(message.recipient),
        provider_id,
    )
    return Outcome.SENT


# Seconds between tries at recording `sent` after the connection broke. The database may
# be restarting; a message whose `sent` never lands is reclaimed and goes out twice.
RECORD_SENT_WAITS = (0.2, 0.5, 1.0, 2.0)


def _record_sent_again(message: Message) -> Outcome:
    """Write `sent` as the lost transaction would have, unless the row left `sending`; on a
    new connection, tried again while the database stays out of reach, for a few seconds.
    (Inside a caller's transaction there is no new connection to try: the error stands.)"""
    fields = ("state", "attempts", "channel", "recipient", "provider_message_id", "sent_at")
    values = {name: getattr(message, name) for name in fields}
    for wait in (*RECORD_SENT_WAITS, None):
        try:
            recorded = Message.objects.filter(pk=message.pk, state=MessageState.SENDING).update(
                last_error="", **values
            )
            break
        except (InterfaceError, OperationalError):
            if wait is None or connection.in_atomic_block:
                raise
            connection.close()
            time.sleep(wait)
    logger.warning("message %s sent; recorded after the database connection broke", message.pk)
    return Outcome.SENT if recorded else Outcome.NOT_SENDING


def _sms_sent_this_week(message: Message, now: datetime) -> list[datetime]:
    """When the patient's texts of the last 7 days were sent, oldest first. The patient's
    row is locked first, so two sends to one patient count one after the other and each
    sees every text the other committed. The cap keeps them few, so Python counts them."""
    patient = message.addressee
    locking = Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk)
    list(locking.order_by().values("pk"))
    sent = Message.objects.filter(
        patient=patient,
        channel=Channel.SMS,
        state=MessageState.SENT,
        sent_at__gt=now - timedelta(days=7),
    )
    return [
        moment for moment in sent.order_by("sent_at").values_list("sent_at", flat=True) if moment
    ]


def _within_a_day(week: list[datetime], now: datetime) -> list[datetime]:
    return [moment for moment in week if moment > now - timedelta(days=1)]


def _over_sms_cap(week: list[datetime], now: datetime) -> bool:
    return (
        len(_within_a_day(week, now)) >= settings.SMS_MAX_PER_DAY
        or len(week) >= settings.SMS_MAX_PER_WEEK
    )


def _next_sms_allowed(message: Message, week: list[datetime], now: datetime) -> datetime:
    day = _within_a_day(week, now)
    candidates = [now]
    if len(day) >= settings.SMS_MAX_PER_DAY:
        candidates.append(day[-settings.SMS_MAX_PER_DAY] + timedelta(days=1))
    if len(week) >= settings.SMS_MAX_PER_WEEK:
        candidates.append(week[-settings.SMS_MAX_PER_WEEK] + timedelta(days=7))
    return message_kinds.next_try(message, max(candidates))


def _reroute_over_cap(message: Message, sent_this_week: list[datetime], now: datetime) -> Outcome:
    """Over the SMS cap: by email if agreed, else later while still useful, else skip."""
    patient = message.addressee
    twin = Message.objects.filter(
        appointment=message.appointment,
        check_in=message.check_in_id,
        kind=message.kind,
        channel=Channel.EMAIL,
        minutes_before=message.minutes_before,
    ).exists()
    if patient.consent_email and patient.email and not twin:
        message.channel = Channel.EMAIL
        message.recipient = patient.email
        message.save(update_fields=["channel", "recipient"])
        return _deliver(message, now)
    later = _next_sms_allowed(message, sent_this_week, now)
    if later < message_kinds.useful_until(message):
        _finish(message, MessageState.SCHEDULED, due_at=later)
        return Outcome.RETRY_LATER
    _finish(message, MessageState.SKIPPED, skip_reason="Over the patient's SMS limit.")
    return Outcome.SKIPPED


def _finish(message: Message, state: str, **fields: object) -> None:
    message.state = state
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=["state", "attempts", *fields])
