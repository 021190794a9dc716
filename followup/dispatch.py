"""The dispatcher: claims due messages and hands each to a send task.

Cost follows what is due, not what waits: the claim reads the partial index of pending
rows by due time. Two dispatchers never claim the same row: on PostgreSQL the claim
skips rows another transaction holds (FOR UPDATE SKIP LOCKED); on SQLite transactions
BEGIN IMMEDIATE, so claims run one at a time.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from followup.models import DispatcherRun, Message, MessageState


def claim_due_batch(*, now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due messages `sending` and return their ids.

    A message left `sending` longer than MESSAGE_SENDING_TIMEOUT (its worker died, or its
    task was lost with the broker) is due again.
    """
    stale = now - timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT)
    due = Q(state=MessageState.SCHEDULED, due_at__lte=now) | Q(
        state=MessageState.SENDING, due_at__lte=now, claimed_at__lt=stale
    )
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        Message.objects.filter(pk__in=ids).update(state=MessageState.SENDING, claimed_at=now)
    return ids


def dispatch_due_messages(*, enqueue: Callable[[int], object], now: datetime | None = None) -> int:
    """Claim every due message in batches and `enqueue` each id; return how many.

    Ids are enqueued after their claim commits; if enqueueing fails, the rows stay
    `sending` and are reclaimed after the timeout, so nothing is lost.
    """
    now = now or timezone.now()
    batch_size = settings.DISPATCH_BATCH_SIZE
    claimed = 0
    while claimed < settings.DISPATCH_MAX_PER_RUN:
        ids = claim_due_batch(
            now=now, limit=min(batch_size, settings.DISPATCH_MAX_PER_RUN - claimed)
        )
        for message_id in ids:
            enqueue(message_id)
        claimed += len(ids)
        if len(ids) < batch_size:
            break
    DispatcherRun.objects.update_or_create(
        pk=1, defaults={"finished_at": timezone.now(), "claimed": claimed}
    )
    return claimed


def last_dispatch() -> datetime | None:
    run = DispatcherRun.objects.filter(pk=1).first()
    return run.finished_at if run else None
