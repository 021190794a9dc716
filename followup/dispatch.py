"""The dispatcher: claims due messages and hands each to a send task.

Cost follows what is due, not what waits: the claim reads two partial indexes, of
scheduled rows by due time and of `sending` rows by claim time. Two dispatchers never
claim the same row: on PostgreSQL the claim skips rows another transaction holds (FOR
UPDATE SKIP LOCKED); on SQLite transactions BEGIN IMMEDIATE, so claims run one at a time.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from followup.models import DispatcherRun, Message, MessageState


def claim_due_batch(*, now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due messages `sending` and return their ids.

    A message left `sending` longer than MESSAGE_SENDING_TIMEOUT (its worker died, or its
    task was lost with the broker) is due again, and claimed first.
    """
    stale_since = now - timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT)
    stale = Message.objects.filter(state=MessageState.SENDING, claimed_at__lt=stale_since)
    due = Message.objects.filter(state=MessageState.SCHEDULED, due_at__lte=now)
    with transaction.atomic():
        ids = _lock(stale.order_by("claimed_at"), limit)
        ids += _lock(due.order_by("due_at"), limit - len(ids))
        Message.objects.filter(pk__in=ids).update(state=MessageState.SENDING, claimed_at=now)
    return ids


def _lock(messages: QuerySet[Message], limit: int) -> list[int]:
    """The ids of up to `limit` of `messages`, locked, skipping rows another claim holds."""
    if limit <= 0:
        return []
    return list(messages.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])


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
