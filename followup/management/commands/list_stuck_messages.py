import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from config.logs import masked
from followup import message_kinds
from followup.models import Message
from followup.operations import PROBLEM_TITLES, messages_in_trouble


def _row(message: Message) -> dict[str, Any]:
    zone = message_kinds.zone_of(message)
    return {
        "id": message.pk,
        "kind": message.kind,
        "channel": message.channel,
        "recipient": masked(message.recipient),
        "due_at": message.due_at.astimezone(zone).isoformat(timespec="minutes"),
        "state": message.state,
        "attempts": message.attempts,
        "last_error": message.last_error,
    }


class Command(BaseCommand):
    help = (
        "List messages stuck in `sending` past MESSAGE_SENDING_TIMEOUT, failed ones, and "
        "scheduled ones overdue by over 5 minutes (no dispatcher running). Exits 0."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        parser.add_argument(
            "--days",
            type=int,
            default=7,
            help="List failed messages due in the last DAYS days (default 7).",
        )
        parser.add_argument(
            "--limit", type=int, default=50, help="At most this many rows per problem."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        limit = options["limit"]
        found = messages_in_trouble(now=now, failed_since=now - timedelta(days=options["days"]))
        counts = {problem: queryset.count() for problem, queryset in found.items()}
        rows = {problem: [_row(m) for m in queryset[:limit]] for problem, queryset in found.items()}
        if options["json"]:
            report = {
                problem.value: {"count": counts[problem], "messages": rows[problem]}
                for problem in found
            }
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
            return
        for problem in found:
            self.stdout.write(f"{PROBLEM_TITLES[problem]}: {counts[problem]}")
            for row in rows[problem]:
                error = " ".join(row["last_error"].split())
                self.stdout.write(
                    f"  #{row['id']} {row['kind']} {row['channel']} {row['recipient']} "
                    f"due {row['due_at']} {row['state']} attempts={row['attempts']}"
                    + (f" error: {error[:120]}" if error else "")
                )
            if counts[problem] > len(rows[problem]):
                self.stdout.write(f"  … and {counts[problem] - len(rows[problem])} more")
        total = sum(counts.values())
        if total:
            self.stdout.write(self.style.WARNING(f"{total} message(s) need a look."))
        else:
            self.stdout.write(self.style.SUCCESS("No stuck, failed or overdue messages."))
