"""One patient's trends: the figures of each of their episodes that the patient trend page
shows; plain functions, no HTTP. ("Trends" are one patient's; the clinic-wide figures are
the outcomes, followup.outcome_stats.)

Change from baseline is in points and in percent of the baseline (none for a baseline of
0); percent reduction is on the same 0-10 NRS as the baseline, never the patient's own "%
relief" answer (shown beside it); responders at days 7, 30 and 90 follow IMMPACT's 30 % and
50 % thresholds; an answer counts at its check-in's day, also when late; the baseline is
followup.clinical.baseline_of's; completion is answered / sent. docs/clinical.md,
"Definitions", gives each with its source.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch

from booking.models import Patient
from followup.clinical import (
    MODERATE_PERCENT,
    RELIEF_PERCENT,
    RESPONDER_DAYS,
    SUBSTANTIAL_PERCENT,
    Baseline,
    ReliefInterval,
    percent_reduction,
    procedure_baseline,
    reduced_by,
    relief_interval,
)
from followup.models import (
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Episode,
    Message,
    MessageKind,
    MessageState,
)
from followup.redflags import red_flags
from followup.side_effects import expected_effect_labels, warning_sign_labels

SUBSTANTIAL = f"substantial responder (≥ {SUBSTANTIAL_PERCENT} %)"
MODERATE = f"moderate responder (≥ {MODERATE_PERCENT} %)"
NOT_RESPONDER = f"not a responder (< {MODERATE_PERCENT} %)"
NO_ANSWER = "no answer"
BASELINE_ZERO = "no percent: baseline was 0"
NO_BASELINE = "no baseline recorded"


def responder_label(baseline: int | None, pain: int | None) -> str:
    if pain is None:
        return NO_ANSWER
    if baseline is None:
        return NO_BASELINE
    if not baseline:
        return BASELINE_ZERO
    if reduced_by(baseline, pain, SUBSTANTIAL_PERCENT):
        return SUBSTANTIAL
    if reduced_by(baseline, pain, MODERATE_PERCENT):
        return MODERATE
    return NOT_RESPONDER


@dataclass(frozen=True)
class AnswerRow:
    day: int
    answered_at: datetime
    pain: int
    relief_percent: int | None
    pgic: int | None
    pgic_label: str
    side_effects: list[str]
    warning_signs: list[str]  # ["Not answered"] when the question was not answered
    route: str
    late: bool
    red_flags: list[str]
    change_points: int | None
    change_percent: float | None

    @property
    def reduction(self) -> float | None:
        return None if self.change_percent is None else -self.change_percent


@dataclass(frozen=True)
class ResponderStatus:
    day: int
    label: str
    reduction: float | None
    n: int  # answers the status rests on: 1 or 0


@dataclass(frozen=True)
class ReliefDuration:
    interval: ReliefInterval | None  # None: relief never began or cannot be measured
    text: str
    n: int  # answers considered


@dataclass
class EpisodeFigures:
    episode: Episode
    label: str
    baseline: int | None
    baseline_info: Baseline
    rows: list[AnswerRow] = field(default_factory=list)
    responders: list[ResponderStatus] = field(default_factory=list)
    duration: ReliefDuration | None = None
    answered: int = 0
    sent: int = 0

    @property
    def completion_percent(self) -> float | None:
        return None if not self.sent else self.answered / self.sent * 100


def change_from_baseline(baseline: int | None, pain: int) -> tuple[int | None, float | None]:
    """(points, percent): pain minus baseline, and that as a percent of the baseline."""
    if baseline is None:
        return None, None
    points = pain - baseline
    return points, (None if baseline == 0 else points / baseline * 100)


def responders(baseline: int | None, pains_by_day: dict[int, int]) -> list[ResponderStatus]:
    return [
        ResponderStatus(
            day=day,
            label=responder_label(baseline, pains_by_day.get(day)),
            reduction=(
                percent_reduction(baseline, pains_by_day[day]) if day in pains_by_day else None
            ),
            n=1 if day in pains_by_day else 0,
        )
        for day in RESPONDER_DAYS
    ]


def relief_duration(baseline: int | None, answers: list[tuple[int, int]]) -> ReliefDuration:
    """Duration of relief from (day, pain) answers, as an interval in words."""
    n = len(answers)
    interval = relief_interval(baseline, answers)
    if baseline is None:
        text = "Not computed: no baseline recorded."
    elif baseline == 0:
        text = "Not computed: baseline was 0 (no percent)."
    elif not answers:
        text = "Not computed: no answers yet."
    elif interval is None:
        text = f"No check-in reached {RELIEF_PERCENT} % relief."
    else:
        text = interval.text[0].upper() + interval.text[1:] + "."
    return ReliefDuration(interval, text, n)


def episode_label(episode: Episode) -> str:
    procedure = episode.procedure
    injectates = " + ".join(item.get_injectate_display() for item in procedure.injectates.all())
    started = episode.started_at.astimezone(procedure.appointment.location.zone)
    return (
        f"{started:%d %b %Y} · {episode.site.name} · "
        f"{procedure.get_side_display()} · {injectates or 'no injectate recorded'}"
    )


def episode_figures(episode: Episode) -> EpisodeFigures:
    """The figures of one episode loaded by `patient_episodes`."""
    baseline = episode.baseline_pain
    figures = EpisodeFigures(
        episode=episode,
        label=episode_label(episode),
        baseline=baseline,
        baseline_info=procedure_baseline(episode.procedure),
    )
    for check_in in episode.check_ins.all():
        if check_in.sent:  # type: ignore[attr-defined]  # annotated by patient_episodes
            figures.sent += 1
            if check_in.state == CheckInState.ANSWERED:
                figures.answered += 1
        answer: CheckInAnswer | None = getattr(check_in, "answer", None)
        if answer is None:
            continue
        points, percent = change_from_baseline(baseline, answer.pain)
        figures.rows.append(
            AnswerRow(
                day=check_in.day,
                answered_at=answer.answered_at,
                pain=answer.pain,
                relief_percent=answer.relief_percent,
                pgic=answer.pgic,
                pgic_label=answer.get_pgic_display() if answer.pgic else "",
                side_effects=expected_effect_labels(answer.side_effects),
                warning_signs=warning_sign_labels(answer.side_effects),
                route=answer.get_route_display(),
                late=answer.late,
                red_flags=red_flags(
                    side_effects=answer.side_effects,
                    pain=answer.pain,
                    baseline=baseline,
                    day=check_in.day,
                    site_slug=episode.site.slug,
                ),
                change_points=points,
                change_percent=percent,
            )
        )
    figures.rows.sort(key=lambda row: row.day)
    pains = {row.day: row.pain for row in figures.rows}
    figures.responders = responders(baseline, pains)
    figures.duration = relief_duration(baseline, list(pains.items()))
    return figures


def patient_episodes(patient: Patient) -> list[Episode]:
    """The patient's episodes, oldest first, with what the figures read (3 queries): each
    check-in with its answer and whether its check-in message (any channel) was sent."""
    sent = Message.objects.filter(
        check_in=OuterRef("pk"), kind=MessageKind.CHECK_IN, state=MessageState.SENT
    )
    return list(
        Episode.objects.filter(patient=patient)
        .select_related("site", "procedure__appointment__location")
        .prefetch_related(
            "procedure__injectates",
            Prefetch(
                "check_ins",
                queryset=CheckIn.objects.select_related("answer")
                .annotate(sent=Exists(sent))
                .order_by("day"),
            ),
        )
        .order_by("started_at")
    )


def patient_figures(patient: Patient) -> list[EpisodeFigures]:
    """The figures of each of the patient's episodes, oldest first."""
    return [episode_figures(episode) for episode in patient_episodes(patient)]


def episodes_by_site(figures: list[EpisodeFigures]) -> dict[int, list[EpisodeFigures]]:
    by_site: dict[int, list[EpisodeFigures]] = defaultdict(list)
    for item in figures:
        by_site[item.episode.site_id].append(item)
    return by_site
