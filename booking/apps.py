from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Booking"

    def ready(self) -> None:
        # Imported here, not at the top: booking.roles imports auth's models, which cannot
        # load while Django is still importing the apps' configs.
        from booking.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, sender=self)
