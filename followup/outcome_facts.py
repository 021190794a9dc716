"""The outcomes page's read model: a narrow copy of what the page filters, groups and counts,
rebuilt from the source tables every OUTCOME_REFRESH_MINUTES.

The page summarises months of outcomes, so a few minutes' staleness is acceptable there
(it says how old its figures are), while joining every answer to its check-in, episode,
procedure, appointment and messages on each request is not. The patient's trend page and
the exports read the source tables. `refresh_outcome_facts` rebuilds both tables in one
transaction, so a reader sees the old table or the new one, never half of one; a refresh
that starts while another runs skips instead of waiting.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, TruncDate
from django.utils import timezone

from followup.clinical import RELIEF_PERCENT, reduced_by_sql
from followup.models import (
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Episode,
    Injectate,
    Message,
    MessageKind,
    MessageState,
    OutcomeEpisode,
    OutcomeFact,
    OutcomeRefresh,
    ProcedureInjectate,
)

# One bit per injectate, in the order of the choices: a procedure's set is their sum.
INJECTATE_BITS: dict[str, int] = {value: 1 << i for i, value in enumerate(Injectate.values)}

# The read model's own columns, filled from the episodes' query below, in this order.
EPISODE_COLUMNS = (
    "episode_id",
    "site_id",
    "clinician_id",
    "location_id",
    "procedure_date",
    "injectates",
    "baseline",
)

EPISODES_SQL = "INSERT INTO {table} ({columns}) SELECT {aliases} FROM ({select}) source"

FACTS_SQL = """
INSERT INTO {fact} (check_in_id, episode_id, site_id, clinician_id, location_id,
                    procedure_date, injectates, day, baseline, pain, activity, medication,
                    pgic, sent, answered, answerable_until)
SELECT c.r_check_in, e.episode_id, e.site_id, e.clinician_id, e.location_id,
       e.procedure_date, e.injectates, c.r_day, e.baseline, a.pain,
       COALESCE(a.activity, ''), COALESCE(a.medication, ''), a.pgic,
       sent.check_in_id IS NOT NULL, a.id IS NOT NULL, c.r_answerable_until
FROM ({check_ins}) c
JOIN {outcome_episode} e ON e.episode_id = c.r_episode
LEFT JOIN {answer} a ON a.check_in_id = c.r_check_in
LEFT JOIN (
    SELECT DISTINCT check_in_id FROM {message} WHERE kind = %s AND state = %s
) sent ON sent.check_in_id = c.r_check_in
"""
# The sent check-ins are a join, not `c.id IN (SELECT …)` in the select list: past a few
# hundred thousand messages that subquery outgrows work_mem as a hash, and PostgreSQL
# then scans the messages once per check-in.

# Duration of relief as an interval, followup.clinical.relief_interval in SQL: among the
# answers of an episode with a baseline above 0, relief begins at the first relieved one
# (`first_relieved`); it lasted at most until the first later answer that is not
# (`at_most`, null while none is) and at least until the last relieved answer before that.
# Windows give each answer its episode's first relieved and first lost days, so each
# answer is read once.
RELIEF_SQL = """
UPDATE {outcome_episode}
SET relief_at_least = relief.at_least, relief_at_most = relief.at_most
FROM (
    SELECT episode_id,
           MAX(CASE WHEN relieved AND (at_most IS NULL OR day < at_most) THEN day END)
               AS at_least,
           MIN(at_most) AS at_most
    FROM (
        SELECT episode_id, day, relieved,
               MIN(CASE WHEN NOT relieved AND day > first_relieved THEN day END)
                   OVER (PARTITION BY episode_id) AS at_most
        FROM (
            SELECT episode_id, day, {relieved} AS relieved,
                   MIN(CASE WHEN {relieved} THEN day END)
                       OVER (PARTITION BY episode_id) AS first_relieved
            FROM {fact}
            WHERE pain IS NOT NULL AND baseline > 0
        ) answered
        WHERE first_relieved IS NOT NULL
    ) bounded
    GROUP BY episode_id
) relief
WHERE {outcome_episode}.episode_id = relief.episode_id
"""


def check_ins_sql() -> tuple[str, tuple[Any, ...]]:
    """SELECT of every check-in with the time until which it could take a first answer
    (OutcomeFact.answerable_until), written by the ORM so that its date arithmetic suits
    the database."""
    open_until = ExpressionWrapper(
        F("expires_at") + timedelta(hours=settings.CHECK_IN_LATE_GRACE_HOURS),
        output_field=DateTimeField(),
    )
    asked_before_closing = Q(episode__closed_at__gt=F("due_at"))
    answerable_until = Case(
        When(Q(state=CheckInState.CANCELLED) & ~asked_before_closing, then=Value(None)),
        default=Least(open_until, Coalesce("episode__closed_at", open_until)),
        output_field=DateTimeField(),
    )
    aliases = {
        "r_check_in": F("pk"),
        "r_episode": F("episode_id"),
        "r_day": F("day"),
        "r_answerable_until": answerable_until,
    }
    query = CheckIn.objects.order_by().annotate(**aliases).values(*aliases).query
    return query.sql_with_params()


def episodes_insert_sql() -> tuple[str, tuple[Any, ...]]:
    """INSERT … SELECT of every episode's filters, the query written by the ORM (procedure
    dates in TIME_ZONE, as the outcomes page's date filters read them)."""
    injectate_bits = Case(
        *(When(injectate=value, then=Value(bit)) for value, bit in INJECTATE_BITS.items()),
        default=Value(0),
    )
    injectate_set = (
        ProcedureInjectate.objects.filter(procedure=OuterRef("procedure"))
        .order_by()
        .values("procedure")
        .annotate(bits=Sum(injectate_bits))
        .values("bits")
    )
    aliases = {
        "r_episode": F("pk"),
        "r_site": F("site"),
        "r_clinician": F("procedure__performed_by"),
        "r_location": F("procedure__appointment__location"),
        "r_date": TruncDate("procedure__performed_at", tzinfo=ZoneInfo(settings.TIME_ZONE)),
        "r_injectates": Coalesce(Subquery(injectate_set), Value(0)),
        "r_baseline": F("baseline_pain"),
    }
    select, params = (
        Episode.objects.order_by().annotate(**aliases).values(*aliases).query.sql_with_params()
    )
    sql = EPISODES_SQL.format(
        table=OutcomeEpisode._meta.db_table,
        columns=", ".join(EPISODE_COLUMNS),
        aliases=", ".join(aliases),
        select=select,
    )
    return sql, params


def refresh_outcome_facts() -> OutcomeRefresh | None:
    """Rebuild the read model from the source tables; None when another refresh is running."""
    OutcomeRefresh.objects.get_or_create(pk=1)
    with transaction.atomic():
        record = OutcomeRefresh.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if record is None:
            return None
        started = time.perf_counter()
        tables = {
            "fact": OutcomeFact._meta.db_table,
            "outcome_episode": OutcomeEpisode._meta.db_table,
            "answer": CheckInAnswer._meta.db_table,
            "message": Message._meta.db_table,
        }
        # Nothing points at these rows and no signal listens: each is one DELETE.
        OutcomeFact.objects.all().delete()
        OutcomeEpisode.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(*episodes_insert_sql())
            check_ins, check_in_params = check_ins_sql()
            cursor.execute(
                FACTS_SQL.format(**tables, check_ins=check_ins),
                [*check_in_params, MessageKind.CHECK_IN, MessageState.SENT],
            )
            relieved = reduced_by_sql("pain", "baseline", RELIEF_PERCENT)
            cursor.execute(RELIEF_SQL.format(**tables, relieved=relieved))
        record.refreshed_at = timezone.now()
        record.seconds = time.perf_counter() - started
        record.save()
    return record


def refreshed_at() -> datetime | None:
    """When the read model was last rebuilt (None: never)."""
    return OutcomeRefresh.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()


def facts_are_stale(as_of: datetime | None, now: datetime) -> bool:
    """Older than two refresh intervals (a refresh was missed), or never built."""
    interval = timedelta(minutes=settings.OUTCOME_REFRESH_MINUTES)
    return as_of is None or now - as_of > 2 * interval
