"""A clinic's rows for the outbox benchmarks and the fault harness, written in bulk:
patients, visits, and the procedures, episodes and check-ins after them. Needs Django set up
(the run's own database)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User

from booking.models import (
    Appointment,
    AppointmentSource,
    Clinician,
    Location,
    Patient,
    Site,
)
from followup.models import CheckIn, Episode, Procedure, Side

AREA_CODES = ("860", "203", "475", "959")  # Connecticut; 555-xxxx is valid in each
BATCH = 5_000


def phone_number(index: int) -> str:
    """A valid E.164 number of its own for each index below 40,000."""
    area = AREA_CODES[(index // 10_000) % len(AREA_CODES)]
    return f"+1{area}555{index % 10_000:04d}"


@dataclass(frozen=True)
class Clinic:
    site: Site
    location: Location
    clinicians: list[Clinician]

    @classmethod
    def create(cls, name: str, clinicians: int = 1) -> "Clinic":
        """A location in America/New_York whose clinicians (with a login and an email
        address, for their alerts) inject `lumbar`."""
        location = Location.objects.create(
            name=f"{name} Pain Clinic",
            address="1 Main Street, Hartford, CT",
            phone="+18605550100",
            time_zone="America/New_York",
        )
        slug = name.lower().replace(" ", "-")
        users = User.objects.bulk_create(
            User(username=f"{slug}-{i:02d}", email=f"clinician{i}@{slug}.example")
            for i in range(clinicians)
        )
        return cls(
            site=Site.objects.get(slug="lumbar"),
            location=location,
            clinicians=Clinician.objects.bulk_create(
                Clinician(user=user, display_name=f"Dr. {name} {i:02d}")
                for i, user in enumerate(users)
            ),
        )

    def patients(self, count: int, *, first_index: int = 0) -> list[Patient]:
        """`count` patients who agreed to email and SMS, each with a number of their own."""
        return Patient.objects.bulk_create(
            (
                Patient(
                    first_name=f"Pat{i}",
                    last_name="Bench",
                    date_of_birth=date(1950, 1, 1) + timedelta(days=i % 20_000),
                    email=f"patient{i}@bench.example",
                    phone=phone_number(i),
                    consent_email=True,
                    consent_sms=True,
                )
                for i in range(first_index, first_index + count)
            ),
            batch_size=BATCH,
        )

    def visits(
        self, patients: Sequence[Patient], *, first: datetime, status: str
    ) -> list[Appointment]:
        """A visit for each patient from `first`, one after another on each clinician's
        calendar (never overlapping, as the exclusion constraint wants)."""
        duration = timedelta(minutes=self.site.duration_minutes)
        held = duration + timedelta(minutes=self.site.buffer_after_minutes)
        spread = len(self.clinicians)
        return Appointment.objects.bulk_create(
            (
                Appointment(
                    site=self.site,
                    clinician=self.clinicians[i % spread],
                    location=self.location,
                    patient=patient,
                    start=first + (i // spread) * held,
                    end=first + (i // spread) * held + duration,
                    blocked_until=first + (i // spread + 1) * held,
                    status=status,
                    source=AppointmentSource.RECEPTION,
                )
                for i, patient in enumerate(patients)
            ),
            batch_size=BATCH,
        )

    def check_ins(self, visits: Sequence[Appointment], *, due_at: datetime) -> list[CheckIn]:
        """After each completed visit, a procedure, its episode and one check-in due at
        `due_at` (a week after the procedure, as the plan's day 7), open for 72 hours."""
        procedures = Procedure.objects.bulk_create(
            (
                Procedure(
                    appointment=visit,
                    site=self.site,
                    side=Side.LEFT,
                    trigger_points=2,
                    pain_before=7,
                    performed_by=visit.clinician,
                    performed_at=visit.start,
                )
                for visit in visits
            ),
            batch_size=BATCH,
        )
        episodes = Episode.objects.bulk_create(
            (
                Episode(
                    procedure=procedure,
                    patient=visit.patient,
                    site=self.site,
                    baseline_pain=7,
                    started_at=visit.start,
                )
                for procedure, visit in zip(procedures, visits, strict=True)
            ),
            batch_size=BATCH,
        )
        return CheckIn.objects.bulk_create(
            (
                CheckIn(
                    episode=episode, day=7, due_at=due_at, expires_at=due_at + timedelta(hours=72)
                )
                for episode in episodes
            ),
            batch_size=BATCH,
        )
