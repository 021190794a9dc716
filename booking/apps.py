from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Booking"

    def ready(self) -> None:
        # Imported here, not at the top: booking.roles imports auth's models, which cannot
        # load while Django is still importing the apps' configs.
        from booking.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, sender=self)
        connection_created.connect(_sqlite_unaccent)


def _sqlite_unaccent(sender: object, connection: object, **kwargs: object) -> None:
    """SQLite gets the UNACCENT() that PostgreSQL's unaccent extension gives (patient search)."""
    if getattr(connection, "vendor", "") == "sqlite":
        from booking.formats import strip_accents

        connection.connection.create_function(  # type: ignore[attr-defined]
            "UNACCENT",
            1,
            lambda text: None if text is None else strip_accents(text),
            deterministic=True,
        )
