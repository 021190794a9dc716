from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = "Follow-up"

    def ready(self) -> None:
        # Imported here, not at the top: these import models, which cannot load while
        # Django is still importing the apps' configs. The receivers that turn booking's
        # announcements into outbox rows (booking.events), and followup's sections of the
        # desk's pages (booking.desk.sections).
        from followup import visit_messages  # noqa: F401
        from followup.views.desk_sections import add_sections

        add_sections()
