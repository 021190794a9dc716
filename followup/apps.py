from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = "Follow-up"

    def ready(self) -> None:
        # The receivers that turn booking's announcements into outbox rows (booking.events).
        from followup import visit_messages  # noqa: F401
