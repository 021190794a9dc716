from django.db import migrations, models
from django.db.models import F


def mark_existing_offers_sent(apps, schema_editor):
    # Offers made before this field were sent as they were made: without this, the sweep
    # would send every pending one again.
    WaitlistOffer = apps.get_model("booking", "WaitlistOffer")
    WaitlistOffer.objects.filter(notified_at__isnull=True).update(notified_at=F("created"))


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0009_patient_merged_into"),
    ]

    operations = [
        migrations.AddField(
            model_name="waitlistoffer",
            name="notified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_existing_offers_sent, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="waitlistoffer",
            index=models.Index(
                condition=models.Q(("notified_at__isnull", True), ("state", "pending")),
                fields=["expires_at"],
                name="waitlist_offer_unsent",
            ),
        ),
    ]
