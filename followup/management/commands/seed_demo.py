from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from followup.demo import seed_demo_clinic


class Command(BaseCommand):
    help = "Load the demo clinic (idempotent) and print the demo staff logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with known passwords; it runs only with DEBUG on "
                "(or with --force on a machine that is not production)."
            )
        logins = seed_demo_clinic()
        self.stdout.write(self.style.SUCCESS("Demo clinic ready. Staff logins (demo only):"))
        for username, password in logins.items():
            self.stdout.write(f"  {username:<10} {password}")
