import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from booking.availability import grid_starts, working_shifts
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
from booking.roles import CLINICIAN, RECEPTION, has_role
from followup.demo import seed_demo_clinic

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_it_builds_the_demo_clinic_and_prints_the_logins(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    output = capsys.readouterr().out
    for username in ("reception", "clinician", "admin"):
        assert username in output
    location = Location.objects.get()
    assert location.time_zone == "America/New_York"
    assert Clinician.objects.count() == 4
    covered = set(Site.objects.filter(clinicians__isnull=False).values_list("slug", flat=True))
    assert covered == set(Site.objects.values_list("slug", flat=True))
    assert set(WorkingHours.objects.values_list("weekday", flat=True)) == {0, 1, 2, 3, 4}
    assert has_role(User.objects.get(username="reception"), RECEPTION)
    assert has_role(User.objects.get(username="clinician"), CLINICIAN)
    assert User.objects.get(username="clinician").clinician.sites.exists()


def test_running_it_again_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    counts = (User.objects.count(), Clinician.objects.count(), WorkingHours.objects.count())
    call_command("seed_demo")
    assert counts == (User.objects.count(), Clinician.objects.count(), WorkingHours.objects.count())


def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_force_runs_it_with_debug_off(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force")
    assert User.objects.filter(username="admin", is_superuser=True).exists()


def _demo_appointments() -> list[Appointment]:
    """The demo calendar's appointments (not the past follow-up history, see followup.demo)."""
    from followup.demo import DEMO_NOTE

    return list(
        Appointment.objects.exclude(procedure__notes__startswith=DEMO_NOTE).select_related(
            "site", "location"
        )
    )


def test_it_books_appointments_before_and_after_today(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    appointments = _demo_appointments()
    now = timezone.now()
    past = [appointment for appointment in appointments if appointment.end <= now]
    future = [appointment for appointment in appointments if appointment.start > now]
    assert len(past) > 100
    assert len(future) > 200
    assert min(appointment.start for appointment in appointments) >= now - timedelta(days=15)
    assert max(appointment.start for appointment in appointments) <= now + timedelta(days=29)

    past_statuses = Counter(appointment.status for appointment in past)
    assert past_statuses.most_common(1)[0][0] == AppointmentStatus.COMPLETED
    assert past_statuses[AppointmentStatus.NO_SHOW] > 0
    assert AppointmentStatus.BOOKED not in past_statuses
    future_statuses = {appointment.status for appointment in future}
    assert future_statuses == {AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED}
    cancelled = [a for a in appointments if a.status == AppointmentStatus.CANCELLED]
    assert len(cancelled) > 10
    assert all(appointment.cancellation_reason for appointment in cancelled)
    assert {appointment.source for appointment in appointments} == set(AppointmentSource)


def test_demo_appointments_never_overlap_per_clinician(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    held: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for appointment in _demo_appointments():
        assert appointment.blocked_until == appointment.end + timedelta(
            minutes=appointment.site.buffer_after_minutes
        )
        # No-shows hold no time by the rules, but they sat in the calendar when booked.
        if appointment.status != AppointmentStatus.CANCELLED:
            held[appointment.clinician_id].append((appointment.start, appointment.blocked_until))
    for spans in held.values():
        spans.sort()
        for (_, held_until), (next_start, _) in pairwise(spans):
            assert held_until <= next_start


def test_demo_appointments_sit_on_the_grid_inside_working_hours(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    appointments = _demo_appointments()
    location = Location.objects.get()
    days = [appointment.start.astimezone(location.zone).date() for appointment in appointments]
    offered = set()
    for site in Site.objects.all():
        for shift in working_shifts(site=site, first_day=min(days), last_day=max(days)):
            offered.update(
                (site.pk, shift.clinician.pk, start) for start in grid_starts(shift, site)
            )
    for appointment in appointments:
        assert appointment.end == appointment.start + timedelta(
            minutes=appointment.site.duration_minutes
        )
        assert (appointment.site_id, appointment.clinician_id, appointment.start) in offered
        assert appointment.site in appointment.clinician.sites.all()


def test_about_half_of_the_bookable_time_is_taken(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    location = Location.objects.get()
    today = timezone.localdate(timezone.now(), location.zone)
    shifts = {
        (shift.clinician.pk, shift.start): shift.end - shift.start
        for site in Site.objects.all()
        for shift in working_shifts(
            site=site, first_day=today - timedelta(days=14), last_day=today + timedelta(days=28)
        )
    }
    held = sum(
        (
            appointment.blocked_until - appointment.start
            for appointment in _demo_appointments()
            if appointment.is_active
        ),
        timedelta(),
    )
    assert 0.35 < held / sum(shifts.values(), timedelta()) < 0.65


def test_demo_patients_are_fictional_and_reachable(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    patients = list(Patient.objects.filter(appointments__isnull=False).distinct())
    assert len(patients) > 100
    for patient in patients:
        assert patient.email or patient.phone
        assert not patient.email or patient.email.split("@")[1] in {
            "example.com",
            "example.org",
            "example.net",
        }
        phone = str(patient.phone)
        assert not phone or re.fullmatch(r"\+1\d{3}55501\d{2}", phone)
        assert patient.consent_email <= bool(patient.email)
        assert patient.consent_sms <= bool(patient.phone)
    assert any(patient.consent_sms for patient in patients)
    assert any(not patient.consent_email for patient in patients)


def test_seeding_again_books_nothing_more(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    first = Counter(Appointment.objects.values_list("status", flat=True))
    patients = Patient.objects.count()
    call_command("seed_demo")
    assert Counter(Appointment.objects.values_list("status", flat=True)) == first
    assert Patient.objects.count() == patients


def test_seeding_a_week_later_fills_only_the_new_days(settings):
    settings.DEBUG = True
    now = timezone.now()
    seed_demo_clinic(now=now)
    before = set(Appointment.objects.values_list("pk", "start", "status"))
    later = now + timedelta(days=7)
    seed_demo_clinic(now=later)
    after = set(Appointment.objects.values_list("pk", "start", "status"))
    assert before < after
    added = after - before
    assert min(start for _, start, _ in added) > now + timedelta(days=27)
    assert max(start for _, start, _ in added) < later + timedelta(days=29)
