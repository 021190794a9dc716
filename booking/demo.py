"""The demo clinic that `make run` shows a newcomer. Safe to run again: it converges."""

from dataclasses import dataclass
from datetime import time

from django.contrib.auth.models import Group, User
from django.db import transaction

from booking.models import Clinician, Location, Site, WorkingHours
from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION, sync_roles

WEEKDAYS = range(5)  # Monday to Friday


@dataclass(frozen=True)
class DemoClinician:
    username: str
    display_name: str
    site_slugs: tuple[str, ...]
    hours: tuple[tuple[time, time], ...]


DEMO_CLINICIANS = (
    DemoClinician(
        "clinician",
        "Dr. Maya Patel",
        ("lumbar", "thoracic", "cervical-trigger-point"),
        ((time(8), time(12)), (time(13), time(17))),
    ),
    DemoClinician(
        "dr.okafor",
        "Dr. Daniel Okafor",
        ("intra-articular", "bursal"),
        ((time(8), time(12)), (time(13), time(17))),
    ),
    DemoClinician(
        "dr.lindqvist",
        "Dr. Sara Lindqvist",
        ("cervical-trigger-point", "thoracic", "bursal"),
        ((time(9), time(13)), (time(14), time(18))),
    ),
    DemoClinician(
        "np.reyes",
        "Nurse Practitioner Luis Reyes",
        ("lumbar", "intra-articular"),
        ((time(7, 30), time(11, 30)), (time(12, 30), time(15, 30))),
    ),
)

# Demo-only credentials, printed by seed_demo; seed_demo refuses to run in production.
DEMO_PASSWORDS = {
    "reception": "reception-demo-2026",
    "clinician": "clinician-demo-2026",
    "admin": "admin-demo-2026",
}


def _staff_user(username: str, password: str, role: str, **extra: object) -> User:
    user, _ = User.objects.get_or_create(username=username)
    user.is_staff = True
    for field, value in extra.items():
        setattr(user, field, value)
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return user


@transaction.atomic
def seed_demo_clinic() -> dict[str, str]:
    """Create the demo location, clinicians, hours and staff; return logins to print."""
    sync_roles()
    location, _ = Location.objects.update_or_create(
        name="Riverside Pain Clinic, Main Street",
        defaults={
            "address": "120 Main Street, Suite 300\nHartford, CT 06103",
            "phone": "+18605550142",
            "time_zone": "America/New_York",
        },
    )
    _staff_user("reception", DEMO_PASSWORDS["reception"], RECEPTION, first_name="Rita")
    _staff_user("admin", DEMO_PASSWORDS["admin"], CLINIC_ADMIN, is_superuser=True)
    for demo in DEMO_CLINICIANS:
        password = DEMO_PASSWORDS.get(demo.username, DEMO_PASSWORDS["clinician"])
        user = _staff_user(demo.username, password, CLINICIAN)
        clinician, _ = Clinician.objects.update_or_create(
            user=user, defaults={"display_name": demo.display_name, "is_active": True}
        )
        clinician.sites.set(Site.objects.filter(slug__in=demo.site_slugs))
        clinician.locations.set([location])
        clinician.working_hours.all().delete()
        WorkingHours.objects.bulk_create(
            WorkingHours(
                clinician=clinician, location=location, weekday=day, start_time=start, end_time=end
            )
            for day in WEEKDAYS
            for start, end in demo.hours
        )
    return dict(DEMO_PASSWORDS)
