"""Repeat-injection limits per site, and every existing site's policy with the model's
defaults (6 weeks apart, at most 3 sessions in 12 months, >= 50 % relief for >= 6 weeks):
the values the REPEAT_* settings had."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def create_defaults(apps, schema_editor):
    Site = apps.get_model("booking", "Site")
    EligibilityPolicy = apps.get_model("followup", "EligibilityPolicy")
    for site in Site.objects.all():
        EligibilityPolicy.objects.get_or_create(site=site)


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0009_patient_merged_into"),
        ("followup", "0007_follow_up_step_minutes_after"),
    ]

    operations = [
        migrations.CreateModel(
            name="EligibilityPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "min_weeks",
                    models.PositiveSmallIntegerField(
                        default=6,
                        help_text="Weeks that must pass since the last injection at the site.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "max_per_year",
                    models.PositiveSmallIntegerField(
                        default=3,
                        help_text="Most sessions at the site in any 12 months, the next one included.",
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="max sessions in 12 months",
                    ),
                ),
                (
                    "relief_percent",
                    models.PositiveSmallIntegerField(
                        default=50,
                        help_text="Reduction of the NRS from baseline the last injection must have given.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(100),
                        ],
                        verbose_name="relief %",
                    ),
                ),
                (
                    "relief_weeks",
                    models.PositiveSmallIntegerField(
                        default=6,
                        help_text="Weeks that relief must have lasted.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "site",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="eligibility_policy",
                        to="booking.site",
                    ),
                ),
            ],
            options={
                "verbose_name": "repeat-injection limits",
                "verbose_name_plural": "repeat-injection limits",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("min_weeks__gte", 1)),
                        name="eligibility_policy_min_weeks_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("max_per_year__gte", 1)),
                        name="eligibility_policy_max_per_year_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("relief_percent__gte", 1), ("relief_percent__lte", 100)
                        ),
                        name="eligibility_policy_relief_percent_1_100",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("relief_weeks__gte", 1)),
                        name="eligibility_policy_relief_weeks_positive",
                    ),
                ],
            },
        ),
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
    ]
