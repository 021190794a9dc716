"""booking's part of the demo clinic that `make run` shows a newcomer; the whole clinic is
`followup.demo.seed_demo_clinic`'s. Safe to run again: it converges.

Besides the location, staff and hours, the demo books a realistic calendar around today:
see `seed_demo_appointments`.
"""

import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from booking.availability import BusyTimes, Shift, busy_times, grid_starts, working_shifts
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Clinician,
    Location,
    Patient,
    Site,
    WorkingHours,
)
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

DEMO_LOCATION_NAME = "Riverside Pain Clinic, Main Street"
DEMO_LOCATION_PHONE = "+18605550142"
DEMO_ON_CALL_EMAIL = "on-call@example.org"

# --- Demo appointments --------------------------------------------------------------------

DEMO_SEED = 20260126
DAYS_BEFORE = 14  # the calendar is booked from two weeks before today...
DAYS_AFTER = 28  # ...to four weeks after it
PATIENT_POOL_SIZE = 360
REPEAT_VISIT_GAP = timedelta(days=14)  # a demo patient's visits are at least this far apart
# At each free start on the grid the demo books with this probability (drawn per clinician
# and day), which leaves about half of the bookable time taken.
FILL_PROBABILITY = (0.25, 0.42)
ONLINE_SHARE = 0.65
PAST_NO_SHOW_SHARE = 0.04
PAST_CANCELLED_SHARE = 0.05
FUTURE_CANCELLED_SHARE = 0.08

# Fictional contact details: 555-0100 to 555-0199 are reserved for fiction in every North
# American area code, and example.com/.org/.net are reserved for documentation, so no
# reminder sent from the demo can reach a real person.
DEMO_AREA_CODES = ("860", "959", "203", "475")
DEMO_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

FIRST_NAMES = (
    "Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Anthony", "Margaret", "Mark",
    "Sandra", "Donald", "Ashley", "Kenneth", "Dorothy", "Kevin", "Carmen", "José",
    "Lucía", "Miguel", "Rosa", "Luis", "Ana", "Carlos", "Yolanda", "Andre", "Keisha",
    "Darnell", "Tamika", "Malik", "Aaliyah", "Wei", "Mei", "Hiroshi", "Yuki", "Priya",
    "Rahul", "Anjali", "Vikram", "Fatima", "Omar", "Amina", "Tomasz", "Agnieszka", "Piotr",
    "Giuseppe", "Francesca", "Siobhan", "Declan", "Noémie", "Chloë", "Ngozi", "Kwame",
    "Thi", "Minh",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Kowalski", "Nowak", "Russo", "Esposito", "O'Brien", "Murphy", "Kelly", "Chen", "Wang",
    "Kim", "Patel", "Shah", "Okonkwo", "Mensah", "Haddad", "Santos", "Pereira",
    "Ferreira-Lima", "Tran", "Ortiz",
)  # fmt: skip
CANCELLATION_REASONS = (
    "Feeling much better; no longer needs the injection.",
    "Unwell (flu); will rebook when recovered.",
    "Work conflict.",
    "No ride to the clinic that day.",
    "Started a blood thinner; waiting for advice from the prescriber.",
    "Insurance pre-authorisation still pending.",
    "Clinician unavailable; the clinic called to rebook.",
    "Family emergency.",
    "Booked twice by mistake.",
    "Weather: roads closed.",
)
RECEPTION_NOTES = (
    "Referred by primary care.",
    "Prefers a morning visit.",
    "Needs wheelchair access.",
    "Spanish interpreter requested.",
    "Takes warfarin; INR to be checked before the visit.",
    "Booked by phone; confirmed by text.",
    "Follow-up after last injection: partial relief.",
    "Diabetic: check glucose on arrival.",
)


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
def seed_demo_bookings(*, now: datetime | None = None) -> Location:
    """Create the demo location, clinicians, hours, staff and appointments; return the
    location. `followup.demo.seed_demo_clinic` adds the past follow-up to them."""
    sync_roles()
    location, _ = Location.objects.update_or_create(
        name=DEMO_LOCATION_NAME,
        defaults={
            "address": "120 Main Street, Suite 300\nHartford, CT 06103",
            "phone": DEMO_LOCATION_PHONE,
            "time_zone": "America/New_York",
            "on_call_name": "Dr. On Call",
            "on_call_email": DEMO_ON_CALL_EMAIL,
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
    seed_demo_appointments(location, now=now)
    return location


@dataclass(frozen=True)
class DemoPatient:
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    phone: str
    consent_email: bool
    consent_sms: bool


def _ascii_slug(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def demo_patients() -> list[DemoPatient]:
    """The demo's patients: the same list on every run and every machine."""
    # Demo data, not security: a seeded generator makes the same clinic every time.
    rng = random.Random(DEMO_SEED)  # noqa: S311  # nosec B311
    names = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    phones = [
        f"+1{area}55501{number:02d}"
        for area in DEMO_AREA_CODES
        for number in range(100)
        if f"+1{area}55501{number:02d}" != DEMO_LOCATION_PHONE
    ]
    patients = []
    for index, (first, last) in enumerate(names[:PATIENT_POOL_SIZE]):
        born = date(1938, 1, 1) + timedelta(days=rng.randrange(62 * 365))
        contact = rng.random()  # 80 % give both, 12 % email only, 8 % phone only
        email = phone = ""
        if contact < 0.92:
            separator = rng.choice((".", "", "_"))
            suffix = rng.choice(("", "", "", str(born.year % 100), str(rng.randrange(1, 99))))
            email = (
                f"{_ascii_slug(first)}{separator}{_ascii_slug(last)}{suffix}"
                f"@{rng.choice(DEMO_EMAIL_DOMAINS)}"
            )
        if contact < 0.80 or contact >= 0.92:
            phone = phones[index]
        patients.append(
            DemoPatient(
                first_name=first,
                last_name=last,
                date_of_birth=born,
                email=email,
                phone=phone,
                consent_email=bool(email) and rng.random() < 0.85,
                consent_sms=bool(phone) and rng.random() < 0.7,
            )
        )
    return patients


def _demo_patient_rows() -> list[Patient]:
    """The demo patients' rows, created the first time (matched by name and birth date)."""
    wanted = demo_patients()
    existing = {
        (patient.first_name, patient.last_name, patient.date_of_birth): patient
        for patient in Patient.objects.filter(
            date_of_birth__in={demo.date_of_birth for demo in wanted}
        )
    }
    missing = [
        Patient(
            first_name=demo.first_name,
            last_name=demo.last_name,
            date_of_birth=demo.date_of_birth,
            email=demo.email,
            phone=demo.phone,
            consent_email=demo.consent_email,
            consent_sms=demo.consent_sms,
        )
        for demo in wanted
        if (demo.first_name, demo.last_name, demo.date_of_birth) not in existing
    ]
    for patient in Patient.objects.bulk_create(missing):
        existing[(patient.first_name, patient.last_name, patient.date_of_birth)] = patient
    return [existing[(demo.first_name, demo.last_name, demo.date_of_birth)] for demo in wanted]


def _status(
    rng: random.Random, start: datetime, end: datetime, now: datetime
) -> tuple[AppointmentStatus, str]:
    """A plausible status (and cancellation reason) for a visit at this time."""
    draw, reason = rng.random(), rng.choice(CANCELLATION_REASONS)
    if end <= now:
        if draw < PAST_CANCELLED_SHARE:
            return AppointmentStatus.CANCELLED, reason
        if draw < PAST_CANCELLED_SHARE + PAST_NO_SHOW_SHARE:
            return AppointmentStatus.NO_SHOW, ""
        return AppointmentStatus.COMPLETED, ""
    if draw < FUTURE_CANCELLED_SHARE:
        return AppointmentStatus.CANCELLED, reason
    return (AppointmentStatus.ARRIVED if start <= now else AppointmentStatus.BOOKED), ""


def _assign_patients(
    appointments: list[Appointment],
    patients: list[Patient],
    visits: dict[int, list[datetime]],
    rng: random.Random,
) -> None:
    """Give each appointment a patient whose other visits are at least two weeks away."""
    for appointment in sorted(appointments, key=lambda row: row.start):
        for attempt in range(40):
            patient = rng.choice(patients)
            gap = REPEAT_VISIT_GAP if attempt < 30 else timedelta(days=1)
            if all(abs(appointment.start - other) >= gap for other in visits[patient.pk]):
                break
        appointment.patient = patient
        visits[patient.pk].append(appointment.start)


ShiftsWithSites = dict[tuple[int, datetime, datetime], tuple[Shift, list[Site]]]
DayShifts = list[tuple[Shift, list[Site]]]


def seed_demo_appointments(location: Location, *, now: datetime | None = None) -> int:
    """Book the demo clinicians' calendars at `location` from two weeks before today to four
    weeks after it, about half of the bookable time; return how many appointments were
    written.

    Past visits are mostly completed, a few are no-shows; future ones are booked; some of
    both are cancelled with a reason. Every start is one `grid_starts` offers in a working
    shift and free by `busy_times`. Rows are written with `bulk_create`, since
    `book_appointment` refuses past times. `make run` seeds on every start, so only a
    clinician's dates without a demo appointment are booked (what a developer did with the
    demo stays), each from a `random.Random` seeded by the clinician's username and the
    date, so that a date books the same way whenever and wherever it is first seeded.
    """
    now = now or timezone.now()
    today = now.astimezone(location.zone).date()
    shifts = _shifts_with_sites(
        location, today - timedelta(days=DAYS_BEFORE), today + timedelta(days=DAYS_AFTER)
    )
    usernames = _demo_usernames(shifts)
    days = _days_to_book(shifts, usernames, location)
    if not days:
        return 0

    longest_hold = max(
        timedelta(minutes=site.duration_minutes + site.buffer_after_minutes)
        for _, sites in shifts.values()
        for site in sites
    )
    window_start = min(shift.start for shift, _ in shifts.values())
    window_end = max(shift.end for shift, _ in shifts.values()) + longest_hold
    busy = busy_times(set(usernames), window_start, window_end)
    patients = _demo_patient_rows()
    visits, seeded_days = _demo_visits(patients, window_start, window_end, location)

    new: list[Appointment] = []
    cursor: dict[int, datetime] = {}  # each clinician's time held by the demo so far
    for (clinician_pk, day), day_shifts in sorted(days.items()):
        if (clinician_pk, day) not in seeded_days:
            rng = random.Random(f"{DEMO_SEED}/{usernames[clinician_pk]}/{day.isoformat()}")  # noqa: S311  # nosec B311
            new += _book_day(clinician_pk, day_shifts, rng, busy, cursor, now)
    patients_rng = random.Random(f"{DEMO_SEED}/patients/{today}")  # noqa: S311  # nosec B311
    _assign_patients(new, patients, visits, patients_rng)
    Appointment.objects.bulk_create(new, batch_size=500)
    return len(new)


def _shifts_with_sites(location: Location, first_day: date, last_day: date) -> ShiftsWithSites:
    """Every clinician's shifts at `location` in the window, with the sites they can inject
    in them."""
    shifts: ShiftsWithSites = {}
    for site in Site.objects.active().order_by("slug"):
        for shift in working_shifts(
            site=site, first_day=first_day, last_day=last_day, location_id=location.pk
        ):
            shifts.setdefault((shift.clinician.pk, shift.start, shift.end), (shift, []))[1].append(
                site
            )
    return shifts


def _demo_usernames(shifts: ShiftsWithSites) -> dict[int, str]:
    """The usernames of the demo clinicians with shifts, by clinician id. Random draws are
    keyed by username, not by primary key, so a date books the same way in every database,
    whatever its sequences have reached."""
    return dict(
        Clinician.objects.filter(
            user__username__in={demo.username for demo in DEMO_CLINICIANS},
            pk__in={key[0] for key in shifts},
        ).values_list("pk", "user__username")
    )


def _days_to_book(
    shifts: ShiftsWithSites, usernames: dict[int, str], location: Location
) -> dict[tuple[int, date], DayShifts]:
    """The demo clinicians' shifts by (clinician id, local date), in time order."""
    days: dict[tuple[int, date], DayShifts] = defaultdict(list)
    for (clinician_pk, _, _), (shift, sites) in sorted(shifts.items(), key=lambda item: item[0]):
        if clinician_pk in usernames:
            day = shift.start.astimezone(location.zone).date()
            days[(clinician_pk, day)].append((shift, sites))
    return days


def _demo_visits(
    patients: list[Patient], window_start: datetime, window_end: datetime, location: Location
) -> tuple[dict[int, list[datetime]], set[tuple[int, date]]]:
    """The demo patients' visits near the window, by patient id, and the (clinician id,
    local date) pairs that already have one."""
    visits: dict[int, list[datetime]] = defaultdict(list)
    seeded_days: set[tuple[int, date]] = set()
    for clinician_pk, patient_pk, start in Appointment.objects.filter(
        patient__in=patients,
        start__gte=window_start - REPEAT_VISIT_GAP,
        start__lt=window_end + REPEAT_VISIT_GAP,
    ).values_list("clinician_id", "patient_id", "start"):
        visits[patient_pk].append(start)
        seeded_days.add((clinician_pk, start.astimezone(location.zone).date()))
    return visits, seeded_days


def _book_day(
    clinician_pk: int,
    day_shifts: DayShifts,
    rng: random.Random,
    busy: BusyTimes,
    cursor: dict[int, datetime],
    now: datetime,
) -> list[Appointment]:
    """One clinician's demo appointments on one date. They never overlap: each start is
    after the time the previous one held (its end plus the site's buffer), kept in
    `cursor`."""
    booked = []
    fill = rng.uniform(*FILL_PROBABILITY)
    for shift, sites in day_shifts:
        grids = {site.pk: set(grid_starts(shift, site)) for site in sites}
        for start in sorted(set().union(*grids.values())):
            if start < cursor.get(clinician_pk, start) or rng.random() >= fill:
                continue
            site = rng.choice([site for site in sites if start in grids[site.pk]])
            blocked_until = start + timedelta(
                minutes=site.duration_minutes + site.buffer_after_minutes
            )
            if not busy.is_free(clinician_pk, start, blocked_until):
                continue
            appointment = _demo_appointment(shift, site, start, rng, now)
            if appointment.status != AppointmentStatus.CANCELLED:
                cursor[clinician_pk] = blocked_until
            booked.append(appointment)
    return booked


def _demo_appointment(
    shift: Shift, site: Site, start: datetime, rng: random.Random, now: datetime
) -> Appointment:
    """An unsaved appointment at `start`, with drawn status, source, baseline pain and note."""
    end = start + timedelta(minutes=site.duration_minutes)
    status, reason = _status(rng, start, end, now)
    online = rng.random() < ONLINE_SHARE
    baseline_pain = rng.choice((None, 4, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 9))
    note = rng.choice(RECEPTION_NOTES) if not online and rng.random() < 0.15 else ""
    return Appointment(
        site=site,
        clinician=shift.clinician,
        location=shift.location,
        start=start,
        end=end,
        blocked_until=end + timedelta(minutes=site.buffer_after_minutes),
        status=status,
        cancellation_reason=reason,
        source=AppointmentSource.ONLINE if online else AppointmentSource.RECEPTION,
        baseline_pain=baseline_pain,
        notes=note,
    )
