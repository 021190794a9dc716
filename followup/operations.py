"""What operators do with the outbox: find messages in trouble, send failed ones again.

The admin and the `list_stuck_messages` command call these; the rules live here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from followup import message_kinds
from followup.models import Message, MessageState

# A scheduled message this late means no dispatcher is running (it ticks every minute).
OVERDUE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class RetryResult:
    scheduled: int
    refused: int  # not failed (any more), or a reminder whose visit is past or not booked


def retry_failed(message_ids: Iterable[int], *, now: datetime | None = None) -> RetryResult:
    """Put failed messages back on the schedule, due now, with a fresh set of attempts.

    Quiet hours still hold for the kinds that keep them: asked at 22:00, a reminder is due
    at 08:00. A message is sent again only while its kind still wants it and it is still
    useful (a reminder while its visit is booked and ahead; followup.message_kinds); the
    last error stays visible until the next attempt replaces or clears it.
    """
    now = now or timezone.now()
    ids = set(message_ids)
    scheduled = 0
    failed = Message.objects.filter(pk__in=ids, state=MessageState.FAILED).select_related(
        *message_kinds.RELATED
    )
    for message in failed:
        due = message_kinds.next_try(message, now)
        if message_kinds.no_longer_wanted(message) or due >= message_kinds.useful_until(message):
            continue
        # Conditional on the state, so a double click or two admins retry it once.
        scheduled += Message.objects.filter(pk=message.pk, state=MessageState.FAILED).update(
            state=MessageState.SCHEDULED, due_at=due, attempts=0, claimed_at=None
        )
    return RetryResult(scheduled=scheduled, refused=len(ids) - scheduled)


class Problem(StrEnum):
    STUCK_SENDING = "stuck_sending"
    FAILED = "failed"
    OVERDUE = "overdue"


PROBLEM_TITLES = {
    Problem.STUCK_SENDING: "Stuck in sending (claimed longer ago than MESSAGE_SENDING_TIMEOUT)",
    Problem.FAILED: "Failed",
    Problem.OVERDUE: "Scheduled but overdue by over 5 minutes (is the dispatcher running?)",
}


def messages_in_trouble(*, now: datetime, failed_since: datetime) -> dict[Problem, QuerySet]:
    """Messages an operator should look at, by problem, each in due order.

    Each query reads a partial index (pending or failed rows), not the sent history.
    """
    stale = now - timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT)
    base = Message.objects.select_related(*message_kinds.RELATED).order_by("due_at", "pk")
    return {
        Problem.STUCK_SENDING: base.filter(
            Q(claimed_at__lt=stale) | Q(claimed_at__isnull=True), state=MessageState.SENDING
        ),
        Problem.FAILED: base.filter(state=MessageState.FAILED, due_at__gte=failed_since),
        Problem.OVERDUE: base.filter(state=MessageState.SCHEDULED, due_at__lt=now - OVERDUE_AFTER),
    }
