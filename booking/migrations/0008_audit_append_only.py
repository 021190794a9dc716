"""The audit log is append-only, enforced by PostgreSQL: UPDATE and DELETE raise.

(On SQLite the model's save and delete refuse, which covers the ORM's paths.)
"""

from django.db import migrations


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """
        CREATE FUNCTION booking_audit_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit events are append-only';
        END;
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER booking_auditevent_append_only
            BEFORE UPDATE OR DELETE ON booking_auditevent
            FOR EACH ROW EXECUTE FUNCTION booking_audit_append_only();
        """
    )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER booking_auditevent_append_only ON booking_auditevent;"
            "DROP FUNCTION booking_audit_append_only();"
        )


class Migration(migrations.Migration):
    dependencies = [("booking", "0007_reception_desk")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
