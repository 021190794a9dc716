"""No double booking, enforced by PostgreSQL.

An exclusion constraint (btree_gist) forbids two active appointments of one clinician
whose held times [start, blocked_until) overlap. SQLite has no such constraint; there the
booking functions serialise check and write instead (see booking/services.py).

The statuses listed must match booking.models.ACTIVE_STATUSES.
"""

from django.db import migrations

CONSTRAINT = "appointment_no_overlap_per_clinician"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"""
        ALTER TABLE booking_appointment ADD CONSTRAINT {CONSTRAINT}
        EXCLUDE USING gist (
            clinician_id WITH =,
            tstzrange(start, blocked_until, '[)') WITH &&
        )
        WHERE (status IN ('booked', 'arrived', 'completed'))
        """
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE booking_appointment DROP CONSTRAINT {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("booking", "0003_patients_and_appointments")]

    operations = [migrations.RunPython(add_constraint, drop_constraint)]
