"""Senders kept per process: one connection to the email server for many messages, replaced
when the server has closed it, and never shared with a forked child."""

import os
import smtplib
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.mail.backends import locmem

from followup.channels import OutboundMessage, TransientSendError, sender_for

SERVER = SimpleNamespace(connections=0, closed_idle=False, refusing=False)


class IdleClosingBackend(locmem.EmailBackend):
    """Django's test backend, behind a server that counts the connections made to it and may
    have closed the open one for being idle, as SMTP servers do after a few minutes."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.connected = False

    def open(self) -> bool:
        if self.connected:
            return False
        if SERVER.refusing:
            raise ConnectionRefusedError("Connection refused")
        SERVER.connections += 1
        self.connected = True
        return True

    def close(self) -> None:
        self.connected = False

    def send_messages(self, email_messages: list) -> int:
        if SERVER.closed_idle:
            SERVER.closed_idle = False
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(email_messages)


@pytest.fixture
def email_server(settings) -> SimpleNamespace:
    settings.EMAIL_BACKEND = f"{__name__}.IdleClosingBackend"
    SERVER.__dict__.update(connections=0, closed_idle=False, refusing=False)
    return SERVER


def reminder(key: str) -> OutboundMessage:
    return OutboundMessage(
        recipient="ann@example.com",
        subject=f"Reminder {key}",
        body="See you soon.",
        idempotency_key=key,
    )


def test_one_process_sends_its_emails_over_one_connection(email_server):
    for key in ("a", "b", "c"):
        sender_for("email").send(reminder(key))

    assert email_server.connections == 1
    assert [email.subject for email in mail.outbox] == ["Reminder a", "Reminder b", "Reminder c"]


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_email_sent_once(
    email_server,
):
    sender_for("email").send(reminder("a"))
    email_server.closed_idle = True

    sender_for("email").send(reminder("b"))

    assert email_server.connections == 2
    assert [email.subject for email in mail.outbox] == ["Reminder a", "Reminder b"]


def test_a_server_refusing_connections_is_a_transient_error_and_nothing_is_sent(email_server):
    email_server.refusing = True

    with pytest.raises(TransientSendError, match="Connection refused"):
        sender_for("email").send(reminder("a"))

    assert mail.outbox == []


def test_new_email_settings_take_a_new_sender(email_server, settings):
    before = sender_for("email")
    assert sender_for("email") is before

    settings.EMAIL_HOST = "smtp.example.org"

    assert sender_for("email") is not before


def test_a_forked_child_makes_its_own_senders_instead_of_sharing_its_parents_connection():
    parent = sender_for("email")
    child = os.fork()
    if child == 0:  # the child: a Celery pool process, forked by the worker
        os._exit(0 if sender_for("email") is not parent else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sender_for("email") is parent
