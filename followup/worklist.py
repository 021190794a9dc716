"""The staff follow-up worklist: the open alerts, recent answers, visits to complete and
check-ins to chase that the staff dashboard lists, whose patients each staff member
follows, and a patient's check-ins with their messages as staff pages show them.

A clinician follows the patients they treated (the procedures they performed, the visits
booked with them); a clinic admin follows every patient of the clinic; reception follows
none here. Each list is one query, bounded in length, whatever the history's size.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, Model, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from booking.models import Appointment, AppointmentStatus, Clinician, Location, Patient
from booking.patients import clinician_of
from booking.roles import CLINIC_ADMIN, CLINICIAN, has_role
from config.logs import masked
from followup.alerts import open_for, visit_of
from followup.models import (
    Alert,
    Channel,
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Episode,
    Message,
)
from followup.reminders import recipient_for
from followup.side_effects import expected_effect_labels, warning_sign_labels

LIST_LIMIT = 20
ACKNOWLEDGED_SHOWN_FOR = timedelta(days=7)

_M = TypeVar("_M", bound=Model)


@dataclass(frozen=True)
class Scope:
    """Whose patients a staff member follows: one clinician's, or everyone's."""

    clinician: Clinician | None
    everyone: bool = False

    @property
    def follows_patients(self) -> bool:
        return self.everyone or self.clinician is not None

    def narrow(self, queryset: QuerySet[_M], clinician_path: str) -> QuerySet[_M]:
        if self.everyone:
            return queryset
        if self.clinician is None:
            return queryset.none()
        return queryset.filter(**{clinician_path: self.clinician})


def scope_for(user: AbstractBaseUser | AnonymousUser) -> Scope:
    if has_role(user, CLINIC_ADMIN):  # superusers too
        return Scope(clinician=clinician_of(user), everyone=True)
    if has_role(user, CLINICIAN):
        return Scope(clinician=clinician_of(user))
    return Scope(clinician=None)


def performing_clinician(
    user: AbstractBaseUser | AnonymousUser, appointment: Appointment
) -> Clinician:
    """Who a completion records as having injected: the clinician completing it, or the
    booked clinician when a clinic admin with no clinician profile records it for them."""
    return clinician_of(user) or appointment.clinician


# --- the lists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    location: Location  # of the visit whose check-in raised it
    raised_at: datetime  # in the location's zone
    acknowledged_at: datetime | None
    open_for: str  # until now, or until acknowledged: "42 min"
    raised_ago: str  # "2 hours ago", as of the page's time


def ago(moment: datetime, now: datetime) -> str:
    """How long ago `moment` was, as people say it: "just now", "1 minute ago",
    "2 hours ago", "3 days ago" (the largest whole unit)."""
    seconds = max(int((now - moment).total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


@dataclass(frozen=True)
class AnswerRow:
    answer: CheckInAnswer
    answered_at: datetime  # in the location's zone
    alerted: bool


@dataclass(frozen=True)
class CheckInRow:
    check_in: CheckIn
    due_at: datetime  # in the location's zone


_ANSWER_PATHS = (
    "check_in__episode__patient",
    "check_in__episode__site",
    "check_in__episode__procedure__appointment__location",
)


def _alerts(scope: Scope) -> QuerySet[Alert]:
    return scope.narrow(
        Alert.objects.select_related(
            "clinician", "acknowledged_by", *(f"answer__{path}" for path in _ANSWER_PATHS)
        ),
        "clinician",
    )


def _alert_row(alert: Alert, now: datetime) -> AlertRow:
    location = visit_of(alert).location
    zone = location.zone
    acknowledged = alert.acknowledged_at
    return AlertRow(
        alert=alert,
        location=location,
        raised_at=alert.created.astimezone(zone),
        acknowledged_at=acknowledged.astimezone(zone) if acknowledged else None,
        open_for=open_for(alert, now),
        raised_ago=ago(alert.created, now),
    )


def open_alerts(scope: Scope, *, now: datetime | None = None) -> list[AlertRow]:
    """Alerts not yet acknowledged, newest first (all of them: none may hide)."""
    now = now or timezone.now()
    alerts = _alerts(scope).filter(acknowledged_at__isnull=True).order_by("-created", "-pk")
    return [_alert_row(alert, now) for alert in alerts]


def open_alerts_at_the_desk(scope: Scope, *, now: datetime | None = None) -> list[AlertRow]:
    """The open alerts the desk home lists, longest open first: a clinician's own, everyone's
    for the others. The desk shows of each only its clinician, location and age, never its
    reasons: reception reads no clinical answers."""
    now = now or timezone.now()
    alerts = Alert.objects.filter(acknowledged_at__isnull=True).select_related(
        "clinician", *(f"answer__{path}" for path in _ANSWER_PATHS)
    )
    if not scope.everyone and scope.clinician is not None:
        alerts = alerts.filter(clinician=scope.clinician)
    return [_alert_row(alert, now) for alert in alerts.order_by("created", "pk")]


def recently_acknowledged(scope: Scope, *, now: datetime | None = None) -> list[AlertRow]:
    now = now or timezone.now()
    alerts = _alerts(scope).filter(acknowledged_at__gte=now - ACKNOWLEDGED_SHOWN_FOR)
    return [_alert_row(alert, now) for alert in alerts.order_by("-acknowledged_at")[:LIST_LIMIT]]


def recent_answers(scope: Scope) -> list[AnswerRow]:
    answers = (
        scope.narrow(
            CheckInAnswer.objects.select_related("entered_by", *_ANSWER_PATHS),
            "check_in__episode__procedure__performed_by",
        )
        .annotate(alerted=Exists(Alert.objects.filter(answer=OuterRef("pk"))))
        .order_by("-answered_at", "-pk")
    )
    rows = []
    for answer in answers[:LIST_LIMIT]:
        zone = answer.check_in.episode.procedure.appointment.location.zone
        alerted: Any = getattr(answer, "alerted", False)
        rows.append(AnswerRow(answer, answer.answered_at.astimezone(zone), bool(alerted)))
    return rows


def check_ins_to_chase(scope: Scope, *, now: datetime | None = None) -> list[CheckInRow]:
    """Due check-ins with no answer yet that still take one (staff may call the patient)."""
    now = now or timezone.now()
    grace = timedelta(hours=settings.CHECK_IN_LATE_GRACE_HOURS)
    check_ins = scope.narrow(
        CheckIn.objects.select_related(
            "episode__patient", "episode__site", "episode__procedure__appointment__location"
        ).filter(
            state__in=[CheckInState.SCHEDULED, CheckInState.EXPIRED],
            due_at__lte=now,
            expires_at__gte=now - grace,
        ),
        "episode__procedure__performed_by",
    ).order_by("due_at", "pk")
    return [
        CheckInRow(
            check_in,
            check_in.due_at.astimezone(check_in.episode.procedure.appointment.location.zone),
        )
        for check_in in check_ins[:LIST_LIMIT]
    ]


def awaiting_completion(scope: Scope) -> QuerySet[Appointment]:
    """Arrived visits not yet completed, earliest first. Arrival happens on the day, so
    these are today's (and any left over from an earlier day, which should not hide)."""
    return scope.narrow(
        Appointment.objects.select_related("patient", "site", "location", "clinician").filter(
            status=AppointmentStatus.ARRIVED
        ),
        "clinician",
    ).order_by("start", "pk")


# --- a patient's check-ins and their messages ----------------------------------------------


@dataclass(frozen=True)
class MessageLine:
    message: Message
    due_at: datetime  # in the location's zone
    sent_at: datetime | None
    recipient: str  # masked: enough to tell apart, not to contact


@dataclass(frozen=True)
class CheckInLine:
    check_in: CheckIn
    due_at: datetime  # in the location's zone
    shown_state: str  # scheduled, open, answered, expired or cancelled
    messages: list[MessageLine]

    @property
    def is_open(self) -> bool:
        return self.shown_state == "open"


@dataclass(frozen=True)
class EpisodeLines:
    episode: Episode
    started_at: datetime  # in the location's zone
    check_ins: list[CheckInLine]
    # The channels the patient agreed to, by which an open check-in's link goes again.
    resend_channels: list[Channel]


def shown_state(check_in: CheckIn, now: datetime) -> str:
    """The check-in's state as staff read it: a scheduled one is `open` once due and until
    it expires (when its link may be sent again)."""
    if check_in.state != CheckInState.SCHEDULED:
        return str(check_in.state)
    return "open" if check_in.due_at <= now < check_in.expires_at else "scheduled"


def _message_line(message: Message, zone: ZoneInfo) -> MessageLine:
    sent = message.sent_at
    return MessageLine(
        message=message,
        due_at=message.due_at.astimezone(zone),
        sent_at=sent.astimezone(zone) if sent else None,
        recipient=masked(message.recipient),
    )


@dataclass(frozen=True)
class RecordAnswer:
    answer: CheckInAnswer
    answered_at: datetime  # in the location's zone
    side_effects: list[str]
    warning_signs: list[str]


def patient_answers(patient: Patient) -> list[RecordAnswer]:
    """The patient's check-in answers, newest first, with their time at the location and
    the side-effect questions in words (the desk's patient record, for clinical staff)."""
    return [
        RecordAnswer(
            answer,
            answer.answered_at.astimezone(
                answer.check_in.episode.procedure.appointment.location.zone
            ),
            expected_effect_labels(answer.side_effects),
            warning_sign_labels(answer.side_effects),
        )
        for answer in CheckInAnswer.objects.filter(check_in__episode__patient=patient)
        .select_related(
            "check_in__episode__site", "check_in__episode__procedure__appointment__location"
        )
        .order_by("-answered_at", "-pk")
    ]


def patient_check_ins(patient: Patient, *, now: datetime | None = None) -> list[EpisodeLines]:
    """Each episode of the patient, newest first, with its check-ins in day order and each
    check-in's messages in due order. Two queries, however long the history."""
    now = now or timezone.now()
    check_ins = (
        CheckIn.objects.filter(episode__patient=patient)
        .select_related("episode__site", "episode__procedure__appointment__location")
        .prefetch_related(Prefetch("messages", queryset=Message.objects.order_by("due_at", "pk")))
        .order_by("-episode__started_at", "-episode_id", "day")
    )
    channels = [channel for channel in Channel if recipient_for(patient, channel)]
    episodes = []
    for episode, group in groupby(check_ins, key=lambda check_in: check_in.episode):
        zone = episode.procedure.appointment.location.zone
        lines = [
            CheckInLine(
                check_in=check_in,
                due_at=check_in.due_at.astimezone(zone),
                shown_state=shown_state(check_in, now),
                messages=[_message_line(message, zone) for message in check_in.messages.all()],
            )
            for check_in in group
        ]
        episodes.append(EpisodeLines(episode, episode.started_at.astimezone(zone), lines, channels))
    return episodes
