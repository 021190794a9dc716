"""Running the outbox in a test, as Celery beat and a worker would."""

from datetime import datetime

import time_machine

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
