"""CSV export of check-in answers for the outcomes page's filters, one row per answer of
the patients the reader may see (booking.patients.visible_patients), produced lazily for a
StreamingHttpResponse.

Patients are named by a stable pseudonym (an HMAC of the patient id keyed with SECRET_KEY)
except to clinic admins, who get the id and name. `answered_at` is UTC; `procedure_date`
and `days_since_procedure` follow the calendar of the visit's location; the last columns
describe the answer's episode (duration of relief, where the baseline came from). Each
column is defined in docs/clinical.md, "Codes in the exports"; in `side_effects`, `not
answered` means the question was not asked, never that there were no symptoms.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from itertools import groupby
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from booking.models import Patient
from followup.clinical import baseline_of, calendar_days_between, relief_interval
from followup.models import ProcedureInjectate
from followup.outcome_stats import OutcomeFilters, filtered_answers, filtered_episodes
from followup.side_effects import expected_effects, warning_signs

PSEUDONYMOUS_HEADER = ["patient_pseudonym"]
IDENTIFIED_HEADER = ["patient_id", "patient_name"]
WARNING_SIGNS_NOT_ANSWERED = "not answered"
COMMON_HEADER = [
    "site",
    "side",
    "injectates",
    "procedure_date",
    "check_in_day",
    "days_since_procedure",
    "answered_at",
    "late",
    "pain_nrs",
    "baseline_nrs",
    "relief_percent",
    "pgic",
    "side_effects",
    "warning_signs",
    "activity",
    "medication",
    "relief_at_least_days",
    "relief_at_most_days",
    "baseline_source",
]
BASELINE_BEFORE_INJECTION = "before injection"
BASELINE_FROM_BOOKING = "booking"


def pseudonym(patient_id: int) -> str:
    """A stable pseudonym, e.g. "P-3f2a9c81d0", that only this installation can recompute."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"patient:{patient_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"P-{digest[:10]}"


def safe_cell(value: str) -> str:
    """Keep spreadsheets from running text as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class _Echo:
    def write(self, value: str) -> str:
        return value


def header(*, identified: bool) -> list[str]:
    return (IDENTIFIED_HEADER if identified else PSEUDONYMOUS_HEADER) + COMMON_HEADER


class _Answer(NamedTuple):
    """One answer row as read, with what its episode's columns need."""

    patient_id: int
    first_name: str
    last_name: str
    site: str
    side: str
    procedure_id: int
    episode_id: int
    performed_at: datetime
    time_zone: str
    pain_before: int | None
    pain_at_booking: int | None
    booked_at: datetime
    day: int
    answered_at: datetime
    late: bool
    pain: int
    baseline: int | None
    relief: int | None
    pgic: int | None
    side_effects: list[str]
    activity: str
    medication: str


def _episode_columns(answers: list[_Answer]) -> list[Any]:
    """relief_at_least_days, relief_at_most_days and baseline_source of one episode."""
    first = answers[0]
    zone = ZoneInfo(first.time_zone)
    relief = relief_interval(first.baseline, [(a.day, a.pain) for a in answers])
    source = baseline_of(
        pain_before=first.pain_before,
        pain_at_booking=first.pain_at_booking,
        injected_on=first.performed_at.astimezone(zone).date(),
        booked_on=first.booked_at.astimezone(zone).date(),
    )
    return [
        "" if relief is None else relief.at_least,
        "" if relief is None or relief.at_most is None else relief.at_most,
        ""
        if source.pain is None
        else (BASELINE_FROM_BOOKING if source.from_booking else BASELINE_BEFORE_INJECTION),
    ]


def answer_rows(
    filters: OutcomeFilters, *, patients: QuerySet[Patient], identified: bool
) -> Iterator[list[Any]]:
    """The rows (without the header), in two queries whatever the number of answers.

    The answers arrive grouped by episode, so an episode's columns are computed from its
    own few answers while the export streams."""
    injectates: dict[int, list[str]] = defaultdict(list)
    for procedure_id, injectate in (
        ProcedureInjectate.objects.filter(
            procedure__episode__in=filtered_episodes(filters).values("pk")
        )
        .order_by("procedure_id", "injectate")
        .values_list("procedure_id", "injectate")
    ):
        injectates[procedure_id].append(injectate)
    episode = "check_in__episode__"
    procedure = f"{episode}procedure__"
    answers = (
        filtered_answers(filters)
        .filter(check_in__episode__patient__in=patients)
        .order_by(f"{episode}started_at", "check_in__episode_id", "check_in__day")
        .values_list(
            f"{episode}patient_id",
            f"{episode}patient__first_name",
            f"{episode}patient__last_name",
            f"{episode}site__name",
            f"{procedure}side",
            f"{episode}procedure_id",
            "check_in__episode_id",
            f"{procedure}performed_at",
            f"{procedure}appointment__location__time_zone",
            f"{procedure}pain_before",
            f"{procedure}appointment__baseline_pain",
            f"{procedure}appointment__created",
            "check_in__day",
            "first_answered_at",
            "late",
            "pain",
            f"{episode}baseline_pain",
            "relief_percent",
            "pgic",
            "side_effects",
            "activity",
            "medication",
        )
    )
    rows = (_Answer(*row) for row in answers.iterator(chunk_size=2000))
    for _, group in groupby(rows, key=lambda answer: answer.episode_id):
        episode_answers = list(group)
        episode_columns = _episode_columns(episode_answers)
        for a in episode_answers:
            yield [*_answer_columns(a, injectates, identified=identified), *episode_columns]


def _answer_columns(a: _Answer, injectates: dict[int, list[str]], *, identified: bool) -> list[Any]:
    zone = ZoneInfo(a.time_zone)
    who: list[Any] = (
        [a.patient_id, safe_cell(f"{a.first_name} {a.last_name}")]
        if identified
        else [pseudonym(a.patient_id)]
    )
    return [
        *who,
        a.site,
        a.side,
        ";".join(injectates.get(a.procedure_id, [])),
        a.performed_at.astimezone(zone).date().isoformat(),
        a.day,
        calendar_days_between(a.performed_at, a.answered_at, zone),
        a.answered_at.isoformat(),
        "yes" if a.late else "no",
        a.pain,
        "" if a.baseline is None else a.baseline,
        "" if a.relief is None else a.relief,
        "" if a.pgic is None else a.pgic,
        ";".join(expected_effects(a.side_effects)),
        ";".join(warning_signs(a.side_effects)) or WARNING_SIGNS_NOT_ANSWERED,
        a.activity,
        a.medication,
    ]


def csv_lines(
    filters: OutcomeFilters, *, patients: QuerySet[Patient], identified: bool
) -> Iterator[str]:
    """The CSV text, line by line, for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header(identified=identified))
    for row in answer_rows(filters, patients=patients, identified=identified):
        yield writer.writerow(row)
