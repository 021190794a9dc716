"""Default reminders for every site (72 h and 24 h by email, 2 h by SMS) and their wording."""

from django.db import migrations

PLAN = [(72 * 60, "email"), (24 * 60, "email"), (2 * 60, "sms")]

TEMPLATES = [
    {
        "kind": "reminder",
        "channel": "email",
        "subject": "Reminder: your appointment at {{ clinic_name }} on {{ date }}",
        "body": (
            "Dear {{ first_name }},\n\n"
            "This is a reminder of your appointment at {{ clinic_name }} on {{ date }} "
            "at {{ time }}.\n\n"
            "To see the details and how to prepare, answer the safety questions, or change "
            "or cancel your appointment: {{ link }}\n\n"
            "{{ clinic_name }}"
        ),
    },
    {
        "kind": "reminder",
        "channel": "sms",
        "subject": "",
        "body": (
            "{{ clinic_name }}: Hi {{ first_name }}, a reminder of your appointment "
            "{{ date }} at {{ time }}. Reply C to confirm. Details or changes: {{ link }}"
        ),
    },
]


def create_defaults(apps, schema_editor):
    Site = apps.get_model("booking", "Site")
    ReminderStep = apps.get_model("followup", "ReminderStep")
    MessageTemplate = apps.get_model("followup", "MessageTemplate")
    for site in Site.objects.all():
        for minutes_before, channel in PLAN:
            ReminderStep.objects.get_or_create(
                site=site, minutes_before=minutes_before, channel=channel
            )
    for template in TEMPLATES:
        MessageTemplate.objects.update_or_create(
            kind=template["kind"], channel=template["channel"], defaults=template
        )


class Migration(migrations.Migration):
    dependencies = [("followup", "0001_outbox"), ("booking", "0002_injection_sites")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
