"""CSV export of check-in answers for the dashboard's filters.

One row per answer of the patients the reader may see (booking.patients.visible_patients:
a clinician's own, a clinic admin's all). Patients are named by a pseudonym (a stable HMAC
of the patient id keyed with SECRET_KEY) unless the reader may see identities (clinic
admins), who get the patient's id and name instead. Rows are produced lazily for a
StreamingHttpResponse.

Times are UTC (ISO 8601); `check_in_day` is the plan's time point the answer belongs to,
`days_since_procedure` the whole days elapsed from the procedure to the first answer (a
late answer shows more days than its time point).

`side_effects` lists the common effects ticked and `warning_signs` the warning signs, by
their codes separated by ";": `none` is the patient's "none of these", `warning_sign` a
"Y" by text, and `not answered` an answer without the question (a text with only a score),
which never means no symptoms.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from booking.models import Patient
from followup.dashboard_stats import OutcomeFilters, filtered_answers, filtered_episodes
from followup.models import ProcedureInjectate
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
]


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


def answer_rows(
    filters: OutcomeFilters, *, patients: QuerySet[Patient], identified: bool
) -> Iterator[list[Any]]:
    """The rows (without the header), in two queries whatever the number of answers."""
    injectates: dict[int, list[str]] = defaultdict(list)
    for procedure_id, injectate in (
        ProcedureInjectate.objects.filter(
            procedure__episode__in=filtered_episodes(filters).values("pk")
        )
        .order_by("procedure_id", "injectate")
        .values_list("procedure_id", "injectate")
    ):
        injectates[procedure_id].append(injectate)
    answers = (
        filtered_answers(filters)
        .filter(check_in__episode__patient__in=patients)
        .order_by("check_in__episode__started_at", "check_in__episode_id", "check_in__day")
        .values_list(
            "check_in__episode__patient_id",
            "check_in__episode__patient__first_name",
            "check_in__episode__patient__last_name",
            "check_in__episode__site__name",
            "check_in__episode__procedure__side",
            "check_in__episode__procedure_id",
            "check_in__episode__procedure__performed_at",
            "check_in__day",
            "first_answered_at",
            "late",
            "pain",
            "check_in__episode__baseline_pain",
            "relief_percent",
            "pgic",
            "side_effects",
            "activity",
            "medication",
        )
    )
    for (
        patient_id,
        first_name,
        last_name,
        site,
        side,
        procedure_id,
        performed_at,
        day,
        answered_at,
        late,
        pain,
        baseline,
        relief,
        pgic,
        side_effects,
        activity,
        medication,
    ) in answers.iterator(chunk_size=2000):
        who: list[Any] = (
            [patient_id, safe_cell(f"{first_name} {last_name}")]
            if identified
            else [pseudonym(patient_id)]
        )
        yield [
            *who,
            site,
            side,
            ";".join(injectates.get(procedure_id, [])),
            performed_at.date().isoformat(),
            day,
            (answered_at - performed_at).days,
            answered_at.isoformat(),
            "yes" if late else "no",
            pain,
            "" if baseline is None else baseline,
            "" if relief is None else relief,
            "" if pgic is None else pgic,
            ";".join(expected_effects(side_effects)),
            ";".join(warning_signs(side_effects)) or WARNING_SIGNS_NOT_ANSWERED,
            activity,
            medication,
        ]


def csv_lines(
    filters: OutcomeFilters, *, patients: QuerySet[Patient], identified: bool
) -> Iterator[str]:
    """The CSV text, line by line, for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header(identified=identified))
    for row in answer_rows(filters, patients=patients, identified=identified):
        yield writer.writerow(row)
