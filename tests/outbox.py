"""Running the outbox in a test, as Celery beat and a worker would."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import time_machine
from django.core import mail
from django.utils import timezone

from followup.dispatch import dispatch_due_messages
from followup.sending import send_message


def send_due(now: datetime) -> list[int]:
    """What beat and a worker do at `now`: claim every due message and send each; the ids."""
    with time_machine.travel(now, tick=False):
        claimed: list[int] = []
        dispatch_due_messages(enqueue=claimed.append, now=now)
        for message_id in claimed:
            send_message(message_id, now=now)
    return claimed


@contextmanager
def then_send_due() -> Iterator[None]:
    """Run the block (a request, a booking), then let beat and a worker send what it made
    due, at the test's clock: what a patient finds in their inbox moments later. What
    earlier steps (fixtures) made due goes out first and is left out of `mail.outbox`."""
    send_due(timezone.now())
    mail.outbox.clear()
    yield
    send_due(timezone.now())
