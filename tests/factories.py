from datetime import UTC, date, datetime, time, timedelta

import factory
from django.contrib.auth.models import User

from booking.models import (
    Appointment,
    AppointmentSource,
    Block,
    Clinician,
    Location,
    Patient,
    SafetyAnswers,
    ScheduleException,
    Site,
    WorkingHours,
)

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class LocationFactory(factory.django.DjangoModelFactory[Location]):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Clinic {n}")
    address = "1 Main Street, Hartford, CT"
    phone = "+18605550100"
    time_zone = "America/New_York"


class SiteFactory(factory.django.DjangoModelFactory[Site]):
    class Meta:
        model = Site
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"site-{n}")
    name = factory.LazyAttribute(lambda site: site.slug.replace("-", " ").title())
    duration_minutes = 30
    description = "Test site"
    instructions = "Bring your medicines."


class ClinicianFactory(factory.django.DjangoModelFactory[Clinician]):
    class Meta:
        model = Clinician
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, is_staff=True)
    display_name = factory.Sequence(lambda n: f"Dr. Test {n}")

    @factory.post_generation
    def sites(self, create: bool, extracted: list[Site] | None, **kwargs: object) -> None:
        if create and extracted:
            self.sites.set(extracted)

    @factory.post_generation
    def locations(self, create: bool, extracted: list[Location] | None, **kwargs: object) -> None:
        if create and extracted:
            self.locations.set(extracted)


class WorkingHoursFactory(factory.django.DjangoModelFactory[WorkingHours]):
    class Meta:
        model = WorkingHours

    clinician = factory.SubFactory(ClinicianFactory)
    location = factory.SubFactory(LocationFactory)
    weekday = 0
    start_time = time(8)
    end_time = time(17)


class ScheduleExceptionFactory(factory.django.DjangoModelFactory[ScheduleException]):
    class Meta:
        model = ScheduleException

    clinician = factory.SubFactory(ClinicianFactory)
    location = factory.SubFactory(LocationFactory)


class BlockFactory(factory.django.DjangoModelFactory[Block]):
    class Meta:
        model = Block

    clinician = factory.SubFactory(ClinicianFactory)
    reason = "Team meeting"
    kind = Block.Kind.MEETING


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    first_name = "Ann"
    last_name = factory.Sequence(lambda n: f"Patient{n}")
    date_of_birth = date(1970, 5, 17)
    email = factory.Sequence(lambda n: f"patient{n}@example.com")
    phone = ""


class AppointmentFactory(factory.django.DjangoModelFactory[Appointment]):
    """An appointment whose end and held time follow its site, like the booking verbs'."""

    class Meta:
        model = Appointment

    site = factory.SubFactory(SiteFactory)
    clinician = factory.SubFactory(ClinicianFactory)
    location = factory.SubFactory(LocationFactory)
    patient = factory.SubFactory(PatientFactory)
    start = datetime(2026, 6, 3, 14, tzinfo=UTC)
    end = factory.LazyAttribute(lambda a: a.start + timedelta(minutes=a.site.duration_minutes))
    blocked_until = factory.LazyAttribute(
        lambda a: a.end + timedelta(minutes=a.site.buffer_after_minutes)
    )
    source = AppointmentSource.ONLINE


class SafetyAnswersFactory(factory.django.DjangoModelFactory[SafetyAnswers]):
    """The pre-procedure safety questions answered "no" throughout, with a driver home."""

    class Meta:
        model = SafetyAnswers

    appointment = factory.SubFactory(AppointmentFactory)
    takes_blood_thinners = False
    allergy_local_anaesthetic = False
    allergy_steroid = False
    allergy_latex = False
    allergy_iodine = False
    pregnancy = "no"
    diabetes = False
    infection_or_fever = False
    recent_steroid_injection = False
    has_driver = True


# --- After the injection ------------------------------------------------------------------


def episode_after_procedure(
    *,
    site_slug: str = "lumbar",
    patient: Patient | None = None,
    location: Location | None = None,
    clinician: Clinician | None = None,
    performed_at: datetime = datetime(2026, 12, 1, 15, tzinfo=UTC),  # 10:00 in New York
    pain_before: int = 6,
    injectates: tuple[str, ...] = ("corticosteroid", "local_anaesthetic"),
):
    """The episode of an arrived visit completed with a procedure by
    `followup.procedures.complete_visit`, so its check-ins and their messages are planned
    as the product plans them (the site's follow-up plan, by the patient's channels)."""
    from booking.models import AppointmentStatus
    from followup.procedures import InjectateDetails, ProcedureDetails, complete_visit

    site = Site.objects.get(slug=site_slug)
    appointment = AppointmentFactory(
        site=site,
        patient=patient or PatientFactory(),
        location=location or LocationFactory(),
        clinician=clinician or ClinicianFactory(),
        start=performed_at - timedelta(minutes=45),
        status=AppointmentStatus.ARRIVED,
    )
    procedure = complete_visit(
        appointment=appointment,
        procedure=ProcedureDetails(
            site=site,
            side="left",
            injectates=[InjectateDetails(injectate=name) for name in injectates],
            trigger_points=2,
            pain_before=pain_before,
        ),
        clinician=appointment.clinician,
        now=performed_at,
    )
    assert procedure is not None
    return procedure.episode


def day_1_check_in_message(patient: Patient, channel: str):
    """The day-1 check-in message planned on `channel` for a new episode of `patient`."""
    from followup.models import Message, MessageKind

    episode = episode_after_procedure(patient=patient)
    return Message.objects.get(
        check_in__episode=episode, check_in__day=1, kind=MessageKind.CHECK_IN, channel=channel
    )


# --- The waitlist -------------------------------------------------------------------------


class WaitlistEntryFactory(factory.django.DjangoModelFactory["WaitlistEntry"]):
    class Meta:
        model = "booking.WaitlistEntry"

    patient = factory.SubFactory(PatientFactory, consent_email=True)
    site = factory.LazyFunction(lambda: Site.objects.get(slug="lumbar"))
    source = AppointmentSource.ONLINE


def answer_check_in(
    episode,
    day: int,
    pain: int,
    *,
    hours_after_due: float = 1,
    send: bool = True,
    **details,
):
    """Answer the episode's day-`day` check-in `hours_after_due` after it was due (past its
    expiry makes it late), through `followup.checkins.record_answer`; with `send`, its
    check-in messages are first marked sent, as the dispatcher would have."""
    from followup.checkins import AnswerDetails, record_answer
    from followup.models import AnswerRoute, Message, MessageKind, MessageState

    check_in = episode.check_ins.get(day=day)
    if send:
        Message.objects.filter(check_in=check_in, kind=MessageKind.CHECK_IN).update(
            state=MessageState.SENT, sent_at=check_in.due_at
        )
    answer, _ = record_answer(
        check_in=check_in,
        answer=AnswerDetails(pain=pain, **details),
        route=AnswerRoute.WEB,
        now=check_in.due_at + timedelta(hours=hours_after_due),
    )
    return answer
