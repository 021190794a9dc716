"""The demo clinic's past follow-up that `make run` shows a newcomer (`manage.py seed_demo`,
beside booking's demo calendar in `booking.demo`), so the trend charts are not empty.

A few fictional patients' procedures and answers over the last year, written through the
product's own verbs (`complete_visit`, then `record_answer` at each answer's past time) so
episodes, closures, late answers and red-flag alerts are as the product makes them; past
check-in messages are marked sent, so nothing from the past goes out when the worker
starts. Idempotent: nothing is written when a demo procedure (notes starting DEMO_NOTE)
exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from booking.demo import DEMO_PASSWORDS, seed_demo_bookings
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Clinician,
    Location,
    Patient,
    Site,
)
from followup.checkins import AnswerDetails, record_answer
from followup.models import (
    Activity,
    AnswerRoute,
    CheckIn,
    CheckInState,
    Episode,
    Medication,
    Message,
    MessageKind,
    MessageState,
    Procedure,
    SideEffect,
)
from followup.outcome_facts import refresh_outcome_facts
from followup.procedures import InjectateDetails, ProcedureDetails, complete_visit

DEMO_NOTE = "Demo history."
LATE = "late"  # an answer given after the check-in expired (within the grace period)


@dataclass(frozen=True)
class Shot:
    """One past procedure and the answers to its check-ins: day -> pain, or (pain, extra)."""

    days_ago: int
    site_slug: str
    side: str
    injectates: tuple[str, ...]
    baseline: int | None
    answers: dict[int, int | tuple[int, dict[str, object]]] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    phone: str
    shots: tuple[Shot, ...]


STEROID = ("corticosteroid", "local_anaesthetic")
LIDOCAINE = ("local_anaesthetic",)
BOTOX = ("botulinum_toxin",)

HISTORIES = (
    # Three lumbar injections over a year: relief each time, then the pain returns.
    History("Eleanor", "Whitfield", date(1961, 4, 12), "eleanor.whitfield@example.com",
            "+14135550177", (
        Shot(372, "lumbar", "left", STEROID, 8,
             {1: 7, 3: 6, 7: 4, 14: 3, 30: 3, 42: 3, 90: 6}),
        Shot(218, "lumbar", "left", STEROID, 7,
             {1: 6, 7: 3, 14: 3, 30: (3, {LATE: True}), 42: 3, 90: 4}),
        Shot(64, "lumbar", "left", STEROID, 8,
             {1: 6, 3: 5, 7: 4, 14: 3, 30: 3, 42: 4}),
    )),
    # Cervical: lidocaine alone did little; botulinum toxin five weeks ago is helping.
    History("Rafael", "Moreno", date(1975, 9, 3), "rafael.moreno@example.org", "", (
        Shot(166, "cervical-trigger-point", "right", LIDOCAINE, 6,
             {1: 5, 7: 4, 14: 5, 30: 5, 42: 6}),
        Shot(36, "cervical-trigger-point", "right", BOTOX, 7,
             {1: 6, 3: 5, 7: 4, 14: 3, 30: 3}),
    )),
    # Cervical, lasting relief.
    History("Walter", "Brooks", date(1958, 1, 27), "walter.brooks@example.net", "", (
        Shot(78, "cervical-trigger-point", "bilateral", STEROID, 7,
             {1: 5, 3: 4, 7: 3, 14: 2, 30: 2, 42: 3}),
    )),
    # Lumbar, six months of relief that wore off at the end.
    History("Sofia", "Castillo", date(1983, 11, 8), "sofia.castillo@example.com", "", (
        Shot(204, "lumbar", "right", STEROID, 6,
             {1: 5, 7: 3, 14: 2, 30: 2, 42: 2, 90: 3, 180: 4}),
    )),
    # Lumbar, no meaningful relief.
    History("Nadia", "Rahman", date(1969, 6, 30), "nadia.rahman@example.org", "", (
        Shot(104, "lumbar", "midline", STEROID, 9,
             {1: 8, 7: 6, 14: 6, 30: 7, 90: 8}),
    )),
    # Lumbar, no baseline recorded: relief cannot be measured against it.
    History("Henry", "Lindgren", date(1950, 2, 14), "henry.lindgren@example.net", "", (
        Shot(122, "lumbar", "left", STEROID, None,
             {1: 4, 7: 3, 30: 3, 42: 3, 90: 4}),
    )),
    # Thoracic, three weeks ago, with a red flag on day 3.
    History("Grace", "Odhiambo", date(1972, 8, 19), "grace.odhiambo@example.com", "", (
        Shot(23, "thoracic", "right", STEROID, 6,
             {1: 7, 3: (9, {"side_effects": ["redness"]}), 7: 5, 14: 4}),
    )),
)  # fmt: skip


def _weekday_at_ten(day: date, location: Location) -> datetime:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=location.zone)


def _details(pain: int, extra: dict[str, object], baseline: int | None) -> AnswerDetails:
    relief = None
    if baseline:
        relief = max(0, min(100, round((baseline - pain) / baseline * 100 / 10) * 10))
    better = baseline is not None and pain < baseline
    side_effects = extra.get("side_effects", [SideEffect.NONE])  # answered: no warning sign
    assert isinstance(side_effects, list)
    return AnswerDetails(
        pain=pain,
        relief_percent=relief,
        pgic=2 if better and relief and relief >= 50 else (3 if better else 4),
        side_effects=[str(effect) for effect in side_effects],
        activity=Activity.MORE if better else Activity.SAME,
        medication=Medication.LESS if better else Medication.SAME,
    )


def _patient(history: History) -> Patient:
    patient, _ = Patient.objects.get_or_create(
        first_name=history.first_name,
        last_name=history.last_name,
        date_of_birth=history.date_of_birth,
        defaults={
            "email": history.email,
            "phone": history.phone,
            "consent_email": True,
            "consent_sms": bool(history.phone),
        },
    )
    return patient


def _answer_check_ins(episode: Episode, shot: Shot, *, now: datetime) -> None:
    for check_in in episode.check_ins.order_by("day"):
        if check_in.due_at > now:
            break
        Message.objects.filter(check_in=check_in, kind=MessageKind.CHECK_IN).update(
            state=MessageState.SENT, sent_at=check_in.due_at
        )
        given = shot.answers.get(check_in.day)
        if given is None:
            continue
        pain, extra = given if isinstance(given, tuple) else (given, {})
        hours = 80 if extra.get(LATE) else 3
        at = check_in.due_at + timedelta(hours=hours)
        if at > now:
            continue
        check_in.refresh_from_db()
        if check_in.state == CheckInState.CANCELLED:
            continue
        record_answer(
            check_in=check_in,
            answer=_details(pain, extra, shot.baseline),
            route=AnswerRoute.WEB,
            now=at,
        )


@transaction.atomic
def seed_demo_clinic(*, now: datetime | None = None) -> dict[str, str]:
    """Create the demo clinic, its calendar and its past follow-up; return the staff logins.
    Safe to run again: it converges."""
    now = now or timezone.now()
    location = seed_demo_bookings(now=now)
    seed_demo_history(location=location, now=now)
    refresh_outcome_facts()  # the outcomes page shows the history at once
    return dict(DEMO_PASSWORDS)


@transaction.atomic
def seed_demo_history(*, location: Location, now: datetime) -> int:
    """Write the demo's past episodes and answers; return how many procedures were written
    (0 when the demo history is already there)."""
    if Procedure.objects.filter(notes__startswith=DEMO_NOTE).exists():
        return 0
    clinician = Clinician.objects.filter(user__username="clinician").first()
    if clinician is None:
        return 0
    sites = {site.slug: site for site in Site.objects.all()}
    today = now.astimezone(location.zone).date()
    written = 0
    episodes: list[Episode] = []
    for history in HISTORIES:
        patient = _patient(history)
        # Each shot's answers are given before the next shot, as they were in life: a new
        # procedure at the site closes the earlier episode's later check-ins.
        for shot in sorted(history.shots, key=lambda s: -s.days_ago):
            site = sites.get(shot.site_slug)
            if site is None:
                continue
            start = _weekday_at_ten(today - timedelta(days=shot.days_ago), location)
            end = start + timedelta(minutes=site.duration_minutes)
            appointment = Appointment.objects.create(
                site=site,
                clinician=clinician,
                location=location,
                patient=patient,
                start=start,
                end=end,
                blocked_until=end + timedelta(minutes=site.buffer_after_minutes),
                status=AppointmentStatus.ARRIVED,
                source=AppointmentSource.RECEPTION,
                baseline_pain=shot.baseline,
            )
            procedure = complete_visit(
                appointment=appointment,
                procedure=ProcedureDetails(
                    site=site,
                    side=shot.side,
                    injectates=[InjectateDetails(injectate=name) for name in shot.injectates],
                    trigger_points=3,
                    pain_before=shot.baseline,
                    notes=f"{DEMO_NOTE} Fictional patient.",
                ),
                clinician=clinician,
                now=end,
            )
            assert procedure is not None
            episodes.append(procedure.episode)
            written += 1
            later = [s.days_ago for s in history.shots if s.days_ago < shot.days_ago]
            until = today - timedelta(days=max(later)) if later else None
            answered_until = _weekday_at_ten(until, location) if until is not None else now
            _answer_check_ins(procedure.episode, shot, now=min(now, answered_until))
    # The past reminders of unanswered check-ins and the past alerts' messages went out too
    # (as the worker would have); the history's alerts escalate no further.
    Message.objects.filter(
        Q(check_in__episode__in=episodes) | Q(alert__answer__check_in__episode__in=episodes),
        state=MessageState.SCHEDULED,
        due_at__lte=now,
    ).update(state=MessageState.SENT, sent_at=F("due_at"))
    CheckIn.objects.filter(
        episode__in=episodes, state=CheckInState.SCHEDULED, expires_at__lte=now
    ).update(state=CheckInState.EXPIRED)
    return written
