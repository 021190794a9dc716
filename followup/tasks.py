"""Celery tasks: thin wrappers around the dispatcher, the sender and the outcomes refresh."""

from collections.abc import Iterator
from contextlib import contextmanager

from celery import current_app, shared_task
from django.conf import settings
from kombu import Producer

from followup.checkins import expire_check_ins
from followup.dispatch import dispatch_due_messages
from followup.outcome_facts import refresh_outcome_facts
from followup.sending import send_message


# It replaces a dropped database connection itself (see send_message), so the worker skips
# the check before each task that costs every other task a round trip (config/celery.py).
@shared_task(
    acks_late=True, reject_on_worker_lost=True, ignore_result=True, checks_own_connection=True
)
def send_message_task(message_id: int) -> str:
    return send_message(message_id).value


@shared_task(ignore_result=True)
def dispatch_due_messages_task() -> int:
    expire_check_ins()
    return dispatch_and_enqueue_sends()


@contextmanager
def dispatch_producer() -> Iterator[Producer]:
    """What a dispatcher run publishes through: one broker connection for the whole run
    (`delay()` takes one from the pool for each message) and, on Redis, kombu's publish
    batch, which sends each DISPATCH_BATCH_SIZE tasks (a claimed batch) in one pipeline and
    the rest when the run ends. Brokers without batches publish each task at once."""
    with (
        current_app.producer_or_acquire() as producer,
        producer.batch(max_size=settings.DISPATCH_BATCH_SIZE),
    ):
        yield producer


def dispatch_and_enqueue_sends() -> int:
    """One dispatcher run: every due message claimed and its send task published. If
    publishing fails, the unpublished rows stay `sending` and are reclaimed, like any lost
    task."""
    with dispatch_producer() as producer:

        def enqueue(message_id: int) -> None:
            send_message_task.apply_async((message_id,), producer=producer)

        return dispatch_due_messages(enqueue=enqueue)


@shared_task(ignore_result=True)
def refresh_outcome_facts_task() -> bool:
    """Rebuild the outcomes page's read model; False when a refresh was already running."""
    return refresh_outcome_facts() is not None
