"""The booking verbs: book, reschedule, cancel, arrive, no-show."""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from booking.availability import free_slots
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    GivenDetails,
    Patient,
    Weekday,
)
from booking.services import (
    NotBookable,
    PatientDetails,
    SlotTaken,
    TooLateToChange,
    TransitionNotAllowed,
    book_appointment,
    book_appointment_once,
    cancel_appointment,
    mark_arrived,
    mark_no_show,
    reschedule_appointment,
    undo_arrival,
    undo_no_show,
)
from tests.factories import (
    AppointmentFactory,
    BlockFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    SiteFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # Monday 1 June 2026, 08:00 in New York
MONDAY = date(2026, 6, 1)
TUESDAY = date(2026, 6, 2)
WEDNESDAY = date(2026, 6, 3)
THURSDAY = date(2026, 6, 4)

ANN = PatientDetails(
    first_name=" Ann ",
    last_name=" Lee ",
    date_of_birth=date(1970, 5, 17),
    email=" Ann.Lee@Example.COM ",
    phone="+18605550123",
)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


@pytest.fixture
def hartford():
    return LocationFactory(name="Hartford", phone="+18605550100")


@pytest.fixture
def site():
    """30-minute consults on a 15-minute grid with 10 minutes kept free after each."""
    return SiteFactory(
        name="Lumbar", duration_minutes=30, slot_step_minutes=15, buffer_after_minutes=10
    )


def clinician_named(name: str, hartford, site):
    """A clinician who works Mondays to Fridays, 09:00-12:00 in Hartford."""
    clinician = ClinicianFactory(display_name=name, sites=[site], locations=[hartford])
    for weekday in range(Weekday.MONDAY, Weekday.FRIDAY + 1):
        WorkingHoursFactory(
            clinician=clinician,
            location=hartford,
            weekday=weekday,
            start_time=time(9),
            end_time=time(12),
        )
    return clinician


@pytest.fixture
def adams(hartford, site):
    return clinician_named("Dr. Adams", hartford, site)


@pytest.fixture
def zed(hartford, site):
    return clinician_named("Dr. Zed", hartford, site)


def book(site, start: datetime, *, details: PatientDetails = ANN, **kwargs) -> Appointment:
    kwargs.setdefault("source", AppointmentSource.ONLINE)
    kwargs.setdefault("now", NOW)
    return book_appointment(site=site, start=start, patient=details, **kwargs)


def book_once(site, start: datetime, key: uuid.UUID, details: PatientDetails = ANN):
    return book_appointment_once(
        site=site,
        start=start,
        patient=details,
        booking_key=key,
        source=AppointmentSource.RECEPTION,
        now=NOW,
    )


def existing(clinician, hartford, site, start: datetime, **kwargs) -> Appointment:
    return AppointmentFactory(
        clinician=clinician, location=hartford, site=site, start=start, **kwargs
    )


# Booking


def test_a_repeat_with_the_same_key_gets_the_first_booking_however_the_name_is_typed(
    hartford, site, adams
):
    key = uuid.uuid4()
    first = book_once(site, at(WEDNESDAY, 10), key, ANN)
    # The same request again, the patient's name typed another way: her email finds her.
    again = book_once(site, at(WEDNESDAY, 10), key, replace(ANN, first_name="Annie"))
    assert again == first
    # A walk-in sent twice lands on the next start the second time, and still books once.
    assert book_once(site, at(WEDNESDAY, 10, 15), key, ANN) == first
    assert Appointment.objects.count() == 1


def test_a_key_that_booked_another_patient_books_nothing(hartford, site, adams):
    key = uuid.uuid4()
    book_once(site, at(WEDNESDAY, 10), key, ANN)
    other = PatientDetails(first_name="Bo", last_name="Kim", date_of_birth=date(1980, 1, 2))
    with pytest.raises(NotBookable, match="already booked another visit"):
        book_once(site, at(WEDNESDAY, 11), key, other)
    assert Appointment.objects.count() == 1
    assert not Patient.objects.filter(first_name="Bo").exists()


def test_it_books_an_appointment_and_creates_the_patient(hartford, site, adams):
    appointment = book(
        site,
        at(WEDNESDAY, 10),
        baseline_pain=7,
        notes="Worse on stairs",
        consent_email=True,
        consent_sms=True,
    )

    appointment.refresh_from_db()
    assert appointment.site == site
    assert appointment.clinician == adams
    assert appointment.location == hartford
    assert appointment.start == datetime(2026, 6, 3, 14, tzinfo=UTC)
    assert appointment.end == datetime(2026, 6, 3, 14, 30, tzinfo=UTC)
    assert appointment.blocked_until == datetime(2026, 6, 3, 14, 40, tzinfo=UTC)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.source == AppointmentSource.ONLINE
    assert appointment.baseline_pain == 7
    assert appointment.notes == "Worse on stairs"
    patient = appointment.patient
    assert (patient.first_name, patient.last_name) == ("Ann", "Lee")
    assert patient.date_of_birth == date(1970, 5, 17)
    assert patient.email == "ann.lee@example.com"
    assert patient.phone == "+18605550123"
    assert patient.consent_email
    assert patient.consent_sms
    assert Patient.objects.count() == 1


def test_the_booked_time_is_no_longer_offered(hartford, site, adams):
    book(site, at(WEDNESDAY, 10), clinician=adams)

    slots = free_slots(
        site=site, first_day=WEDNESDAY, last_day=WEDNESDAY, clinician_id=adams.pk, now=NOW
    )

    # Held 10:00-10:40, and a new consult holds 40 minutes too.
    offered = [slot.start for slot in slots]
    assert at(WEDNESDAY, 9, 15) in offered
    for held in [(9, 30), (9, 45), (10, 0), (10, 15), (10, 30)]:
        assert at(WEDNESDAY, *held) not in offered
    assert at(WEDNESDAY, 10, 45) in offered


def test_without_a_clinician_it_takes_the_first_free_one_by_name(hartford, site, zed, adams):
    assert zed.pk < adams.pk  # so only the name can put Dr. Adams first
    first = book(site, at(WEDNESDAY, 10))
    second = book(site, at(WEDNESDAY, 10))

    assert first.clinician == adams
    assert second.clinician == zed
    with pytest.raises(SlotTaken):
        book(site, at(WEDNESDAY, 10))


def test_it_passes_over_a_clinician_held_by_a_block(hartford, site, zed, adams):
    BlockFactory(clinician=adams, start=at(WEDNESDAY, 10, 20), end=at(WEDNESDAY, 11))

    assert book(site, at(WEDNESDAY, 10)).clinician == zed


def test_it_books_the_clinician_asked_for(hartford, site, zed, adams):
    assert book(site, at(WEDNESDAY, 10), clinician=zed).clinician == zed


def test_it_books_at_the_location_asked_for(hartford, site, adams):
    westside = LocationFactory(name="Westside")
    baker = ClinicianFactory(display_name="Dr. Baker", sites=[site], locations=[westside])
    WorkingHoursFactory(
        clinician=baker,
        location=westside,
        weekday=Weekday.WEDNESDAY,
        start_time=time(9),
        end_time=time(12),
    )

    appointment = book(site, at(WEDNESDAY, 10), location=westside)

    assert (appointment.clinician, appointment.location) == (baker, westside)


@pytest.mark.parametrize("source", [AppointmentSource.ONLINE, AppointmentSource.RECEPTION])
def test_a_time_in_the_past_is_not_bookable(hartford, site, adams, source):
    with pytest.raises(NotBookable, match="already passed"):
        book(site, at(MONDAY, 10), source=source, now=at(MONDAY, 11))

    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


def test_online_booking_keeps_the_minimum_notice(hartford, site, adams):
    with pytest.raises(NotBookable, match="24 hours"):
        book(site, at(TUESDAY, 9), now=at(MONDAY, 9, 15))

    assert book(site, at(TUESDAY, 9, 15), now=at(MONDAY, 9, 15)).start == at(TUESDAY, 9, 15)


def test_reception_may_book_inside_the_notice(hartford, site, adams):
    appointment = book(
        site, at(MONDAY, 10), source=AppointmentSource.RECEPTION, now=at(MONDAY, 9, 50)
    )

    assert appointment.start == at(MONDAY, 10)
    assert appointment.source == AppointmentSource.RECEPTION


def test_reception_can_book_every_slot_the_engine_offers_it(hartford, site, adams):
    # At 09:00 sharp the engine offers reception the 09:00 start (earliest <= start).
    now = at(MONDAY, 9)
    slots = free_slots(site=site, first_day=MONDAY, last_day=MONDAY, now=now, with_notice=False)
    assert slots

    appointment = book(site, slots[0].start, source=AppointmentSource.RECEPTION, now=now)

    assert appointment.start == slots[0].start


@pytest.mark.parametrize("source", [AppointmentSource.ONLINE, AppointmentSource.RECEPTION])
def test_a_time_beyond_the_maximum_advance_is_not_bookable(hartford, site, adams, source):
    site.max_advance_days = 2
    site.save()
    now = at(MONDAY, 9)

    with pytest.raises(NotBookable, match="up to 2 days ahead"):
        book(site, at(WEDNESDAY, 9, 15), source=source, now=now)
    assert book(site, at(WEDNESDAY, 9), source=source, now=now).start == at(WEDNESDAY, 9)


@pytest.mark.parametrize(
    "start",
    [
        at(WEDNESDAY, 10, 5),  # off the 15-minute grid
        datetime(2026, 6, 3, 14, 0, 30, tzinfo=UTC),  # off the grid by seconds
        at(WEDNESDAY, 8, 45),  # before the hours
        at(WEDNESDAY, 11, 45),  # would end after the hours
        at(WEDNESDAY, 12),  # at the end of the hours
        at(WEDNESDAY, 13),  # after the hours
        at(date(2026, 6, 6), 10),  # Saturday, a day off
    ],
)
@pytest.mark.parametrize("source", [AppointmentSource.ONLINE, AppointmentSource.RECEPTION])
def test_a_start_the_hours_do_not_offer_is_not_bookable(hartford, site, adams, start, source):
    with pytest.raises(NotBookable, match="not a time this consult can start"):
        book(site, start, source=source)

    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


def test_a_clinician_who_does_not_work_then_is_not_bookable(hartford, site, zed, adams):
    with pytest.raises(NotBookable):
        book(site, at(WEDNESDAY, 10), clinician=ClinicianFactory(sites=[site]))


def test_it_accepts_a_start_in_any_zone(hartford, site, adams):
    appointment = book(site, datetime(2026, 6, 3, 14, tzinfo=UTC))

    assert appointment.start == at(WEDNESDAY, 10)
    assert appointment.local_start.isoformat() == "2026-06-03T10:00:00-04:00"


def test_a_time_held_by_an_appointment_raises_slot_taken_with_the_nearest_free_times(
    hartford, site, adams
):
    existing(adams, hartford, site, at(WEDNESDAY, 10))  # held 10:00-10:40

    with pytest.raises(SlotTaken) as taken:
        book(site, at(WEDNESDAY, 10))

    # A consult holds 40 minutes: free starts end by 10:00 or begin at 10:40 or later.
    assert [slot.start for slot in taken.value.alternatives] == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 15),
        at(WEDNESDAY, 10, 45),
        at(WEDNESDAY, 11),
        at(WEDNESDAY, 11, 15),
    ]
    assert {slot.clinician_id for slot in taken.value.alternatives} == {adams.pk}
    assert "just taken" in taken.value.message
    assert Appointment.objects.count() == 1
    assert not Patient.objects.filter(email="ann.lee@example.com").exists()


def test_a_new_consult_may_not_run_into_the_next_appointment_with_its_buffer(hartford, site, adams):
    existing(adams, hartford, site, at(WEDNESDAY, 10, 30))

    # 10:00-10:30 ends as the next starts, but the buffer would hold until 10:40.
    with pytest.raises(SlotTaken):
        book(site, at(WEDNESDAY, 10))
    assert book(site, at(WEDNESDAY, 9, 45)).blocked_until == at(WEDNESDAY, 10, 25)


def test_a_time_held_by_a_block_raises_slot_taken(hartford, site, adams):
    BlockFactory(clinician=adams, start=at(WEDNESDAY, 10, 20), end=at(WEDNESDAY, 12))

    with pytest.raises(SlotTaken) as taken:
        book(site, at(WEDNESDAY, 10))

    # On Wednesday only starts whose 40 minutes end by 10:20 are free; then the day before
    # comes nearer than the day after (Tuesday 11:30 is 22.5 hours away, Thursday 09:00 23).
    assert [slot.start for slot in taken.value.alternatives] == [
        at(TUESDAY, 11, 15),
        at(TUESDAY, 11, 30),
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 15),
        at(WEDNESDAY, 9, 30),
    ]
    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


def test_slot_taken_for_reception_offers_times_inside_the_notice(hartford, site, adams):
    existing(adams, hartford, site, at(MONDAY, 10))

    with pytest.raises(SlotTaken) as taken:
        book(site, at(MONDAY, 10), source=AppointmentSource.RECEPTION, now=at(MONDAY, 9, 5))

    assert [slot.start for slot in taken.value.alternatives] == [
        at(MONDAY, 9, 15),
        at(MONDAY, 10, 45),
        at(MONDAY, 11),
        at(MONDAY, 11, 15),
        at(MONDAY, 11, 30),
    ]


def test_slot_taken_for_a_clinician_offers_that_clinicians_times(hartford, site, zed, adams):
    existing(zed, hartford, site, at(WEDNESDAY, 10))

    with pytest.raises(SlotTaken) as taken:
        book(site, at(WEDNESDAY, 10), clinician=zed)

    assert {slot.clinician_name for slot in taken.value.alternatives} == {"Dr. Zed"}
    assert Appointment.objects.count() == 1


def test_cancelled_and_no_show_appointments_do_not_hold_the_time(hartford, site, adams):
    existing(adams, hartford, site, at(WEDNESDAY, 10), status=AppointmentStatus.CANCELLED)
    existing(adams, hartford, site, at(WEDNESDAY, 10), status=AppointmentStatus.NO_SHOW)

    assert book(site, at(WEDNESDAY, 10)).clinician == adams


@pytest.mark.parametrize(
    ("sunday", "utc_hour"),
    [(date(2026, 3, 8), 12), (date(2026, 11, 1), 13)],
)
def test_it_books_the_wall_clock_time_on_a_dst_day(hartford, site, sunday, utc_hour):
    clinician = ClinicianFactory(sites=[site], locations=[hartford])
    WorkingHoursFactory(
        clinician=clinician,
        location=hartford,
        weekday=Weekday.SUNDAY,
        start_time=time(8),
        end_time=time(17),
    )
    now = datetime.combine(sunday, time(12), tzinfo=UTC) - timedelta(days=7)

    first = book(site, at(sunday, 8), now=now)
    last = book(site, at(sunday, 16, 30), now=now)

    assert first.start == datetime.combine(sunday, time(utc_hour), tzinfo=UTC)
    assert first.local_start.strftime("%H:%M") == "08:00"
    assert last.local_end.strftime("%H:%M") == "17:00"
    assert last.blocked_until - last.start == timedelta(minutes=40)
    with pytest.raises(NotBookable):
        book(site, at(sunday, 16, 45), now=now)


# Patients


def test_it_matches_a_patient_by_birth_date_and_email_ignoring_case_and_spaces(
    hartford, site, adams
):
    first = book(site, at(WEDNESDAY, 9))
    again = PatientDetails(
        first_name="Ann",
        last_name="Lee",
        date_of_birth=date(1970, 5, 17),
        email="ANN.LEE@example.com\t",
    )

    second = book(site, at(WEDNESDAY, 10), details=again)

    assert second.patient == first.patient
    assert Patient.objects.count() == 1


def test_it_matches_a_patient_by_birth_date_and_phone(hartford, site, adams):
    first = book(site, at(WEDNESDAY, 9))
    again = PatientDetails(
        first_name="Ann",
        last_name="Lee",
        date_of_birth=date(1970, 5, 17),
        email="ann.new@example.com",
        phone="+18605550123",
    )

    second = book(site, at(WEDNESDAY, 10), details=again)

    assert second.patient == first.patient
    second.patient.refresh_from_db()
    assert second.patient.email == "ann.lee@example.com"  # the existing email is kept


def test_a_patient_matched_by_reception_gains_the_contact_detail_it_lacked(hartford, site, adams):
    patient = PatientFactory(date_of_birth=date(1970, 5, 17), email="ann.lee@example.com")

    appointment = book(site, at(WEDNESDAY, 9), source=AppointmentSource.RECEPTION)

    assert appointment.patient == patient
    patient.refresh_from_db()
    assert patient.phone == "+18605550123"
    assert not GivenDetails.objects.exists()


def test_a_patient_matched_online_keeps_the_record_and_the_new_detail_waits_for_reception(
    hartford, site, adams
):
    patient = PatientFactory(
        last_name="Lee", date_of_birth=date(1970, 5, 17), email="ann.lee@example.com"
    )

    appointment = book(site, at(WEDNESDAY, 9), consent_sms=True)

    assert appointment.patient == patient
    patient.refresh_from_db()
    assert (patient.phone, patient.consent_sms) == ("", False)
    given = GivenDetails.objects.get(appointment=appointment)
    assert [difference.field for difference in given.differences()] == ["phone", "consent_sms"]


@pytest.mark.parametrize(
    "details",
    [
        # The same email with another birth date is another person.
        PatientDetails("Ann", "Lee", date(1971, 5, 17), email="ann.lee@example.com"),
        # The same birth date with other contact details is another person.
        PatientDetails("Ann", "Lee", date(1970, 5, 17), email="a.lee@example.org"),
        PatientDetails("Ann", "Lee", date(1970, 5, 17), phone="+18605550199"),
    ],
)
def test_it_creates_a_new_patient_when_nothing_matches(hartford, site, adams, details):
    first = book(site, at(WEDNESDAY, 9))

    second = book(site, at(WEDNESDAY, 10), details=details)

    assert second.patient != first.patient
    assert Patient.objects.count() == 2


def test_consent_needs_the_matching_contact_detail(hartford, site, adams):
    email_only = PatientDetails("Bo", "Ray", date(1980, 1, 2), email="bo@example.com")

    patient = book(
        site, at(WEDNESDAY, 9), details=email_only, consent_email=True, consent_sms=True
    ).patient

    assert patient.consent_email
    assert not patient.consent_sms


def test_the_patients_latest_consent_given_to_reception_counts(hartford, site, adams):
    first = book(site, at(WEDNESDAY, 9), consent_email=True, consent_sms=True)

    second = book(
        site,
        at(WEDNESDAY, 10),
        consent_email=False,
        consent_sms=True,
        source=AppointmentSource.RECEPTION,
    )

    assert second.patient == first.patient
    second.patient.refresh_from_db()
    assert not second.patient.consent_email
    assert second.patient.consent_sms


def test_a_consent_given_online_to_a_matched_record_waits_for_reception(hartford, site, adams):
    first = book(site, at(WEDNESDAY, 9), consent_email=True, consent_sms=True)

    second = book(site, at(WEDNESDAY, 10), consent_email=False, consent_sms=True)

    assert second.patient == first.patient
    second.patient.refresh_from_db()
    assert (second.patient.consent_email, second.patient.consent_sms) == (True, True)
    [difference] = GivenDetails.objects.get(appointment=second).differences()
    assert (difference.field, difference.on_record, difference.given) == (
        "consent_email",
        "yes",
        "no",
    )


# Rescheduling


@pytest.fixture
def appointment(hartford, site, adams):
    """Booked online for Wednesday 10:00 with Dr. Adams."""
    return book(site, at(WEDNESDAY, 10))


def test_rescheduling_moves_the_appointment_and_keeps_its_identity(
    hartford, site, adams, appointment
):
    public_id = appointment.public_id

    moved = reschedule_appointment(
        appointment=appointment, start=at(THURSDAY, 11), by_patient=True, now=NOW
    )

    moved.refresh_from_db()
    assert moved.pk == appointment.pk
    assert moved.public_id == public_id
    assert moved.start == at(THURSDAY, 11)
    assert moved.end == at(THURSDAY, 11, 30)
    assert moved.blocked_until == at(THURSDAY, 11, 40)
    assert moved.status == AppointmentStatus.BOOKED
    assert moved.location == hartford
    assert Appointment.objects.count() == 1
    offered = [
        slot.start
        for slot in free_slots(
            site=site, first_day=WEDNESDAY, last_day=THURSDAY, clinician_id=adams.pk, now=NOW
        )
    ]
    assert at(WEDNESDAY, 10) in offered
    assert at(THURSDAY, 11) not in offered


def test_rescheduling_by_one_step_onto_its_own_time_works(hartford, site, adams, appointment):
    moved = reschedule_appointment(
        appointment=appointment, start=at(WEDNESDAY, 10, 15), by_patient=True, now=NOW
    )

    moved.refresh_from_db()
    assert (moved.clinician, moved.start, moved.blocked_until) == (
        adams,
        at(WEDNESDAY, 10, 15),
        at(WEDNESDAY, 10, 55),
    )


def test_rescheduling_to_a_held_time_raises_slot_taken_and_changes_nothing(
    hartford, site, adams, appointment
):
    existing(adams, hartford, site, at(THURSDAY, 10))

    with pytest.raises(SlotTaken) as taken:
        reschedule_appointment(
            appointment=appointment,
            start=at(THURSDAY, 10),
            by_patient=True,
            clinician=adams,
            now=NOW,
        )

    assert taken.value.alternatives
    appointment.refresh_from_db()
    assert appointment.start == at(WEDNESDAY, 10)


def test_slot_taken_on_rescheduling_offers_times_next_to_the_current_one(
    hartford, site, adams, appointment
):
    existing(adams, hartford, site, at(WEDNESDAY, 11))  # the appointment holds 10:00-10:40

    with pytest.raises(SlotTaken) as taken:
        reschedule_appointment(
            appointment=appointment, start=at(WEDNESDAY, 11), by_patient=True, now=NOW
        )

    # 10:15 (held until 10:55) is the nearest time this appointment can move to: its own
    # current time does not stand in its way.
    assert at(WEDNESDAY, 10, 15) in [slot.start for slot in taken.value.alternatives]
    moved = reschedule_appointment(
        appointment=appointment, start=at(WEDNESDAY, 10, 15), by_patient=True, now=NOW
    )
    assert moved.start == at(WEDNESDAY, 10, 15)


def test_rescheduling_keeps_the_booking_rules(hartford, site, adams, appointment):
    with pytest.raises(NotBookable):
        reschedule_appointment(
            appointment=appointment, start=at(WEDNESDAY, 10, 5), by_patient=True, now=NOW
        )
    with pytest.raises(NotBookable, match="24 hours"):
        # The visit itself is two days away, but the new time is inside the notice.
        reschedule_appointment(
            appointment=appointment, start=at(TUESDAY, 9), by_patient=True, now=at(MONDAY, 10)
        )

    appointment.refresh_from_db()
    assert appointment.start == at(WEDNESDAY, 10)


def test_a_patient_cannot_reschedule_inside_the_notice(hartford, site, adams, appointment):
    with pytest.raises(TooLateToChange, match="860") as too_late:
        reschedule_appointment(
            appointment=appointment,
            start=at(THURSDAY, 10),
            by_patient=True,
            now=at(TUESDAY, 10, 30),
        )

    assert "call the clinic" in too_late.value.message
    appointment.refresh_from_db()
    assert appointment.start == at(WEDNESDAY, 10)


def test_reception_may_reschedule_inside_the_notice(hartford, site, adams, appointment):
    moved = reschedule_appointment(
        appointment=appointment, start=at(WEDNESDAY, 9), by_patient=False, now=at(WEDNESDAY, 8)
    )

    assert moved.start == at(WEDNESDAY, 9)


@pytest.mark.parametrize(
    "status",
    [
        AppointmentStatus.ARRIVED,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.CANCELLED,
    ],
)
def test_only_a_booked_appointment_can_be_rescheduled(hartford, site, adams, appointment, status):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    appointment.refresh_from_db()

    with pytest.raises(TransitionNotAllowed):
        reschedule_appointment(
            appointment=appointment, start=at(THURSDAY, 10), by_patient=False, now=NOW
        )

    appointment.refresh_from_db()
    assert appointment.start == at(WEDNESDAY, 10)


def test_rescheduling_a_copy_loaded_before_a_cancellation_is_refused(
    hartford, site, adams, appointment
):
    # A patient's manage page loaded the appointment; then reception cancelled it.
    loaded_earlier = Appointment.objects.get(pk=appointment.pk)
    cancel_appointment(appointment=appointment, reason="Clinician ill", by_patient=False, now=NOW)

    with pytest.raises(TransitionNotAllowed):
        reschedule_appointment(
            appointment=loaded_earlier, start=at(THURSDAY, 10), by_patient=True, now=NOW
        )

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.start == at(WEDNESDAY, 10)


# Cancelling


def test_cancelling_stores_the_reason_and_frees_the_time(hartford, site, adams, appointment):
    cancelled = cancel_appointment(
        appointment=appointment, reason="  Feeling better  ", by_patient=True, now=NOW
    )

    cancelled.refresh_from_db()
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancellation_reason == "Feeling better"
    assert book(site, at(WEDNESDAY, 10)).clinician == adams


def test_a_patient_cannot_cancel_inside_the_notice(hartford, site, adams, appointment):
    with pytest.raises(TooLateToChange):
        cancel_appointment(appointment=appointment, by_patient=True, now=at(TUESDAY, 10, 1))

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_patient_can_cancel_exactly_at_the_notice(hartford, site, adams, appointment):
    cancelled = cancel_appointment(appointment=appointment, by_patient=True, now=at(TUESDAY, 10))

    assert cancelled.status == AppointmentStatus.CANCELLED


def test_reception_may_cancel_inside_the_notice(hartford, site, adams, appointment):
    cancelled = cancel_appointment(
        appointment=appointment, reason="Clinician ill", by_patient=False, now=at(WEDNESDAY, 9)
    )

    assert cancelled.status == AppointmentStatus.CANCELLED


def test_an_appointment_cannot_be_cancelled_twice(hartford, site, adams, appointment):
    cancel_appointment(appointment=appointment, reason="First", by_patient=True, now=NOW)

    with pytest.raises(TransitionNotAllowed, match="cannot be cancelled"):
        cancel_appointment(appointment=appointment, reason="Second", by_patient=False, now=NOW)

    appointment.refresh_from_db()
    assert appointment.cancellation_reason == "First"


def test_cancelling_uses_the_current_time_by_default(hartford, site, adams, appointment):
    with time_machine.travel(at(TUESDAY, 10, 1), tick=False), pytest.raises(TooLateToChange):
        cancel_appointment(appointment=appointment, by_patient=True)


# Arrivals and no-shows


def test_a_booked_patient_can_be_marked_arrived(hartford, site, adams, appointment):
    arrived = mark_arrived(appointment=appointment)

    arrived.refresh_from_db()
    assert arrived.status == AppointmentStatus.ARRIVED
    with pytest.raises(TransitionNotAllowed):
        mark_arrived(appointment=appointment)


def test_a_cancelled_appointment_cannot_be_marked_arrived(hartford, site, adams, appointment):
    cancel_appointment(appointment=appointment, by_patient=False, now=NOW)

    with pytest.raises(TransitionNotAllowed):
        mark_arrived(appointment=appointment)


def test_a_no_show_cannot_be_marked_before_the_visit_starts(hartford, site, adams, appointment):
    with pytest.raises(TransitionNotAllowed, match="before it starts"):
        mark_no_show(appointment=appointment, now=at(WEDNESDAY, 9, 59))

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_no_show_is_marked_once_the_visit_has_started_and_frees_the_time(
    hartford, site, adams, appointment
):
    no_show = mark_no_show(appointment=appointment, now=at(WEDNESDAY, 10))

    no_show.refresh_from_db()
    assert no_show.status == AppointmentStatus.NO_SHOW
    walk_in = book(
        site, at(WEDNESDAY, 10, 15), source=AppointmentSource.RECEPTION, now=at(WEDNESDAY, 10, 5)
    )
    assert walk_in.clinician == adams


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.CANCELLED, AppointmentStatus.ARRIVED, AppointmentStatus.NO_SHOW],
)
def test_only_a_booked_appointment_can_be_marked_a_no_show(
    hartford, site, adams, appointment, status
):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)

    with pytest.raises(TransitionNotAllowed):
        mark_no_show(appointment=appointment, now=at(WEDNESDAY, 11))

    appointment.refresh_from_db()
    assert appointment.status == status


# Undoing an arrival or a no-show


@pytest.mark.parametrize("to", [AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED])
def test_a_no_show_is_undone_the_same_day(hartford, site, adams, appointment, to):
    mark_no_show(appointment=appointment, now=at(WEDNESDAY, 10, 5))

    undone = undo_no_show(appointment=appointment, to=to, now=at(WEDNESDAY, 23, 59))

    undone.refresh_from_db()
    assert undone.status == to


def test_a_no_show_is_not_undone_the_next_day(hartford, site, adams, appointment):
    mark_no_show(appointment=appointment, now=at(WEDNESDAY, 10, 5))

    # 00:05 on Thursday in New York is still Wednesday in UTC: the location's day counts.
    with pytest.raises(TransitionNotAllowed, match="only on the day of the visit"):
        undo_no_show(appointment=appointment, now=at(THURSDAY, 0, 5))

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW


def test_a_no_show_whose_time_was_given_away_is_not_undone(hartford, site, adams, appointment):
    mark_no_show(appointment=appointment, now=at(WEDNESDAY, 10, 5))
    walk_in = book(
        site, at(WEDNESDAY, 10, 15), source=AppointmentSource.RECEPTION, now=at(WEDNESDAY, 10, 5)
    )
    assert walk_in.clinician == adams

    with pytest.raises(TransitionNotAllowed, match="given to another visit"):
        undo_no_show(appointment=appointment, now=at(WEDNESDAY, 10, 20))

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED],
)
def test_only_a_no_show_can_be_undone_as_one(hartford, site, adams, appointment, status):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)

    with pytest.raises(TransitionNotAllowed, match="cannot be undone"):
        undo_no_show(appointment=appointment, now=at(WEDNESDAY, 10, 5))

    appointment.refresh_from_db()
    assert appointment.status == status


def test_a_no_show_is_undone_to_booked_or_arrived_only(hartford, site, adams, appointment):
    mark_no_show(appointment=appointment, now=at(WEDNESDAY, 10, 5))

    with pytest.raises(TransitionNotAllowed):
        undo_no_show(
            appointment=appointment, to=AppointmentStatus.COMPLETED, now=at(WEDNESDAY, 10, 6)
        )

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW


def test_an_arrival_is_undone_back_to_booked(hartford, site, adams, appointment):
    mark_arrived(appointment=appointment, now=at(WEDNESDAY, 9, 50))

    undone = undo_arrival(appointment=appointment)

    undone.refresh_from_db()
    assert undone.status == AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.COMPLETED, AppointmentStatus.BOOKED, AppointmentStatus.NO_SHOW],
)
def test_only_an_arrival_not_yet_completed_can_be_undone(
    hartford, site, adams, appointment, status
):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)

    with pytest.raises(TransitionNotAllowed, match="cannot be undone"):
        undo_arrival(appointment=appointment)

    appointment.refresh_from_db()
    assert appointment.status == status
