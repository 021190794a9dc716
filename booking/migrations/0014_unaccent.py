from django.db import migrations


def create_unaccent(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    """PostgreSQL's unaccent() for the desk's patient search; SQLite registers its own."""

    dependencies = [("booking", "0013_alert_contacts")]

    operations = [migrations.RunPython(create_unaccent, migrations.RunPython.noop)]
