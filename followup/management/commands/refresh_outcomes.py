from typing import Any

from django.core.management.base import BaseCommand

from followup.outcome_facts import refresh_outcome_facts


class Command(BaseCommand):
    help = (
        "Rebuild the outcomes dashboard's figures from the answers now (Celery beat does it "
        "every OUTCOME_REFRESH_MINUTES). Skips when a refresh is already running."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        record = refresh_outcome_facts()
        if record is None:
            self.stdout.write("A refresh is already running; skipped.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Outcome figures refreshed at {record.refreshed_at:%Y-%m-%d %H:%M:%S %Z} "
                f"in {record.seconds:.2f} s."
            )
        )
