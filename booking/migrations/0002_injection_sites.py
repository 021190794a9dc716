"""The five injection sites, with stable slugs that the public API and links use."""

from django.db import migrations

SITES = [
    {
        "slug": "bursal",
        "name": "Bursal",
        "duration_minutes": 30,
        "description": (
            "For pain over a joint's fluid sac, such as the hip (trochanteric) or shoulder "
            "(subacromial) bursa. The clinician examines the area and, where it helps, "
            "injects the bursa."
        ),
        "instructions": (
            "Wear clothing that lets the clinician reach the painful area. Bring a list of "
            "your medicines, including blood thinners. You can eat and drink as usual."
        ),
    },
    {
        "slug": "cervical-trigger-point",
        "name": "Cervical trigger point",
        "duration_minutes": 30,
        "description": (
            "For tight, tender knots in the neck and upper shoulder muscles that cause neck "
            "pain or headaches."
        ),
        "instructions": (
            "Wear a top that leaves your neck and shoulders easy to reach. Tell us if you take "
            "blood thinners or have had a reaction to a local anaesthetic."
        ),
    },
    {
        "slug": "intra-articular",
        "name": "Intra-articular",
        "duration_minutes": 45,
        "description": (
            "An injection into a joint, such as the knee, hip, shoulder or a facet joint of "
            "the spine, sometimes guided by ultrasound."
        ),
        "instructions": (
            "Bring a list of your medicines. If you take blood thinners or have diabetes, call "
            "the clinic before your visit. Arrange a ride home if the joint is in your leg."
        ),
    },
    {
        "slug": "lumbar",
        "name": "Lumbar",
        "duration_minutes": 45,
        "description": "For lower back pain from tender muscles or trigger points in the lower back.",
        "instructions": (
            "Wear loose clothing. Bring a list of your medicines, including blood thinners. "
            "Plan a quiet rest of the day after the injection."
        ),
    },
    {
        "slug": "thoracic",
        "name": "Thoracic",
        "duration_minutes": 30,
        "description": "For mid-back pain between the shoulder blades from tender muscle knots.",
        "instructions": (
            "Wear a top that is easy to remove or lift. Bring a list of your medicines, "
            "including blood thinners."
        ),
    },
]


def create_sites(apps, schema_editor):
    Site = apps.get_model("booking", "Site")
    for site in SITES:
        Site.objects.update_or_create(slug=site["slug"], defaults=site)


def remove_sites(apps, schema_editor):
    apps.get_model("booking", "Site").objects.filter(slug__in=[s["slug"] for s in SITES]).delete()


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunPython(create_sites, remove_sites)]
