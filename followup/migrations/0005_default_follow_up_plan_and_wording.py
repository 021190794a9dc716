"""Default follow-up plan for every site (days 1, 3, 7, 14, 30, 42, 90 and 180) and the
wording of check-in messages.

Day 42 is the six weeks that payers ask relief to last before a repeat injection.
"""

from django.db import migrations

DAYS = [1, 3, 7, 14, 30, 42, 90, 180]

TEMPLATES = [
    {
        "kind": "check_in",
        "channel": "email",
        "subject": "How is your pain? A quick check-in from {{ clinic_name }}",
        "body": (
            "Dear {{ first_name }},\n\n"
            "How are you since your visit to {{ clinic_name }}? Please take a minute to tell "
            "us how your pain is today: {{ link }}\n\n"
            "Your answers help your clinician plan your care.\n\n"
            "{{ clinic_name }}"
        ),
    },
    {
        "kind": "check_in",
        "channel": "sms",
        "subject": "",
        "body": (
            "{{ clinic_name }}: Hi {{ first_name }}, how is your pain today? Reply with a "
            "number 0-10 for your pain right now, or open the link: {{ link }}"
        ),
    },
    {
        "kind": "check_in_reminder",
        "channel": "email",
        "subject": "A reminder: how is your pain? ({{ clinic_name }})",
        "body": (
            "Dear {{ first_name }},\n\n"
            "We have not heard from you yet. Please tell us how your pain is today: {{ link }}\n\n"
            "{{ clinic_name }}"
        ),
    },
    {
        "kind": "check_in_reminder",
        "channel": "sms",
        "subject": "",
        "body": (
            "{{ clinic_name }}: Hi {{ first_name }}, a reminder: reply with a number 0-10 for "
            "your pain right now, or open the link: {{ link }}"
        ),
    },
]


def create_defaults(apps, schema_editor):
    Site = apps.get_model("booking", "Site")
    FollowUpStep = apps.get_model("followup", "FollowUpStep")
    MessageTemplate = apps.get_model("followup", "MessageTemplate")
    for site in Site.objects.all():
        for day in DAYS:
            FollowUpStep.objects.get_or_create(site=site, day=day)
    for template in TEMPLATES:
        MessageTemplate.objects.update_or_create(
            kind=template["kind"], channel=template["channel"], defaults=template
        )


class Migration(migrations.Migration):
    dependencies = [("followup", "0004_procedures_episodes_check_ins")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
