"""Channels behind one small interface: `send(OutboundMessage) -> provider message id`.

Email goes through Django's email backends. SMS goes through the backend named by the
SMS_BACKEND setting: the console or file backends by default, Twilio in production.
A channel raises TransientSendError for what a retry may fix (a provider's 5xx, a
timeout) and PermanentSendError for what it will not (an invalid number).

Each process (each thread) keeps one sender per channel, made on first use: an SMTP
server or Twilio is then connected to, and TLS negotiated with, once per worker process
instead of once per message.
"""

import json
import os
import sys
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import phonenumbers
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string


class SendError(Exception):
    pass


class TransientSendError(SendError):
    """Worth retrying."""


class PermanentSendError(SendError):
    """Retrying will not help."""


class RecipientOptedOut(PermanentSendError):
    """The provider refuses the number because it replied STOP to our sender (Twilio keeps
    that list itself, so it may know of a STOP the inbound webhook never saw)."""


# Twilio's error code for "Attempt to send to unsubscribed recipient".
TWILIO_UNSUBSCRIBED = 21610


@dataclass(frozen=True)
class OutboundMessage:
    recipient: str
    body: str
    idempotency_key: str
    subject: str = ""
    html_body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Email only: (filename, content, MIME type), as EmailMessage.attach takes them.
    attachments: tuple[tuple[str, str, str], ...] = ()


class Sender(Protocol):
    def send(self, message: OutboundMessage) -> str: ...


def check_phone_number(number: str) -> None:
    """Raise PermanentSendError unless `number` is a valid E.164 number, whatever the backend."""
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        raise PermanentSendError("The stored phone number is not valid.")


class EmailSender:
    """Sends through one connection of the EMAIL_BACKEND, opened by the first email and
    kept open (Django's backends close only a connection their send opened)."""

    def __init__(self) -> None:
        self.connection = get_connection()

    def send(self, message: OutboundMessage) -> str:
        message_id = f"<{message.idempotency_key}@{settings.CALENDAR_UID_DOMAIN}>"
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            to=[message.recipient],
            headers={"Message-ID": message_id, **message.headers},
            connection=self.connection,
        )
        if message.html_body:
            email.attach_alternative(message.html_body, "text/html")
        for filename, content, mimetype in message.attachments:
            email.attach(filename, content, mimetype)
        try:
            self._send(email)
        except (OSError, TimeoutError) as error:  # SMTP refused, dropped or timed out
            raise TransientSendError(f"email not accepted: {error}") from error
        return message_id

    def _send(self, email: EmailMultiAlternatives) -> None:
        opened_now = self.connection.open()
        try:
            email.send()
        except (OSError, TimeoutError):
            if opened_now:
                raise
            # The kept connection may have been closed by the server while idle: once
            # more on a new one, then the error stands.
            self._close_quietly()
            self.connection.open()
            email.send()

    def _close_quietly(self) -> None:
        # A dead connection may fail to say goodbye; close() lets go of it either way.
        with suppress(OSError, TimeoutError):
            self.connection.close()


class ConsoleSmsBackend:
    """Prints each SMS on standard output, as Django's console email backend prints emails:
    what `make run` uses. Not to the log, which never carries a number or a patient's name."""

    def send(self, message: OutboundMessage) -> str:
        sys.stdout.write(f"SMS to {message.recipient}:\n{message.body}\n")
        sys.stdout.flush()
        return f"console-{message.idempotency_key}"


class FileSmsBackend:
    """Appends each SMS as a JSON line to SMS_FILE_PATH: a sink tests and benchmarks read."""

    def send(self, message: OutboundMessage) -> str:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "to": message.recipient,
            "body": message.body,
            "key": message.idempotency_key,
            "at": timezone.now().isoformat(),
        }
        with path.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(record) + "\n")
        return f"file-{message.idempotency_key}"


class TwilioSmsBackend:
    """Sends through Twilio's API with the official client. The client is imported where it
    is used, so only a process that sends by Twilio loads that large library."""

    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            # Its own default is to wait for ever.
            http_client=TwilioHttpClient(timeout=settings.PROVIDER_TIMEOUT),
        )

    def send(self, message: OutboundMessage) -> str:
        from twilio.base.exceptions import TwilioRestException

        try:
            sent = self.client.messages.create(
                to=message.recipient, from_=settings.TWILIO_FROM_NUMBER, body=message.body
            )
        except TwilioRestException as error:
            if error.status >= 500 or error.status == 429:
                raise TransientSendError(f"Twilio {error.status}: {error.msg}") from error
            if error.code == TWILIO_UNSUBSCRIBED:
                raise RecipientOptedOut(f"Twilio {error.status}: {error.msg}") from error
            raise PermanentSendError(f"Twilio {error.status}: {error.msg}") from error
        except OSError as error:
            raise TransientSendError(f"Twilio unreachable: {error}") from error
        return str(sent.sid)


def sms_sender() -> Sender:
    return import_string(settings.SMS_BACKEND)()


_kept = threading.local()


def sender_for(channel: str) -> Sender:
    """This thread's sender for `channel`, made on first use and kept."""
    senders: dict[str, Sender] | None = getattr(_kept, "senders", None)
    if senders is None:
        senders = _kept.senders = {}
    if channel not in senders:
        senders[channel] = EmailSender() if channel == "email" else sms_sender()
    return senders[channel]


def _forget_senders() -> None:
    global _kept
    _kept = threading.local()


# A forked child (a Celery pool process) must not share its parent's sockets.
os.register_at_fork(after_in_child=_forget_senders)


@receiver(setting_changed)
def _forget_senders_of_old_settings(*, setting: str, **kwargs: object) -> None:
    if setting.startswith(("EMAIL_", "SMS_", "TWILIO_")):
        _forget_senders()
