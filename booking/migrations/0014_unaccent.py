from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """PostgreSQL's unaccent() for the desk's patient search; SQLite registers its own."""

    dependencies = [("booking", "0013_alert_contacts")]

    operations = [UnaccentExtension()]
