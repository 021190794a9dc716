"""The statements a send runs for every message, built once per process.

A send is a few small statements on one row, run for every reminder and check-in, and the
ORM spent longer building them, and PostgreSQL longer planning the five-table locking
SELECT, than the database spent running them (docs/performance.md). Here each statement's
SQL is generated from the models' metadata once per process; on PostgreSQL each is a
prepared statement, planned once per connection; and rows become model instances through
`Model.from_db` after the fields' own database converters, as the ORM's would, so the
rest of the send works on ordinary models.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any, Generic, TypeVar, cast

import psycopg
from django.db import connection
from django.db.models import Field, Model

from booking.models import Appointment, Location, Patient
from followup.models import Channel, CheckIn, Message, MessageState, MessageTemplate

Converter = Callable[[Any, Any, Any], Any]
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Columns(Generic[M]):
    """The concrete columns of `model` under a table alias, and how to read them back.
    With `only`, the fields not named are left deferred: the ORM loads one if anything reads
    it, with a query of its own."""

    model: type[M]
    alias: str
    only: tuple[str, ...] = ()

    @cached_property
    def fields(self) -> list[Field]:
        return [
            field
            for field in self.model._meta.concrete_fields
            if not self.only or field.name in self.only
        ]

    @property
    def table(self) -> str:
        return f"{_quoted(self.model._meta.db_table)} {self.alias}"

    def select(self) -> str:
        return ", ".join(f"{self.alias}.{_quoted(field.column)}" for field in self.fields)

    def build(self, values: Sequence[Any]) -> M:
        """An instance from this part's values, converted as the ORM converts them."""
        attnames, converted_columns = _reading(self, connection.vendor)
        row = list(values)
        for index, converters in converted_columns:
            row[index] = _convert(row[index], converters)
        return self.model.from_db(connection.alias, attnames, row)


@cache
def _reading(columns: _Columns, vendor: str) -> tuple[list[str], list[tuple[int, list[Converter]]]]:
    """Attribute names, and the columns the ORM converts (on SQLite, datetimes arrive as
    text; JSON arrives as text everywhere) with their conversions, once per process."""
    fields = columns.fields
    converted = [
        (index, _converters_of(field, columns.alias)) for index, field in enumerate(fields)
    ]
    return [field.attname for field in fields], [pair for pair in converted if pair[1]]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _message_field(name: str) -> Field:
    return cast(Field, Message._meta.get_field(name))  # a concrete column, by its name


def _converters_of(field: Field, alias: str) -> list[Converter]:
    column = field.get_col(alias)
    return connection.ops.get_db_converters(column) + column.get_db_converters(connection)


def _convert(value: Any, converters: list[Converter]) -> Any:
    for converter in converters:
        value = converter(value, None, connection)
    return value


def _run(sql: str, params: Sequence[Any], *, rows: bool = True) -> list[tuple[Any, ...]]:
    """`sql` run as a statement PostgreSQL plans once per connection; its rows if `rows`.
    (A cursor's `description` is not asked: psycopg builds an object per column for it.)"""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if rows else []
    # Inside the send's transaction.atomic(), which opened the connection if there was
    # none; one PostgreSQL ended fails here, and send_message runs again on a new one.
    connection.ensure_connection()
    # Django's own cursors bind parameters on the client and so cannot prepare.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if rows else []


# Of the rows around the message, only the columns a send reads: each costs PostgreSQL its
# text form and psycopg and the ORM their reading of it (a timestamp is formatted, then
# parsed again). No phone number: the message keeps its recipient, and loading a
# PhoneNumberField parses the number.
_MESSAGE = _Columns(Message, "m")
_APPOINTMENT = _Columns(
    Appointment, "a", only=("id", "public_id", "patient", "location", "start", "status")
)
_PATIENT = _Columns(
    Patient, "p", only=("id", "first_name", "email", "consent_email", "consent_sms")
)
_LOCATION = _Columns(Location, "l", only=("id", "time_zone"))
_CHECK_IN = _Columns(CheckIn, "c", only=("id", "state", "expires_at"))
_TEMPLATE = _Columns(MessageTemplate, "t")
_JOINED: tuple[_Columns, ...] = (_MESSAGE, _APPOINTMENT, _PATIENT, _LOCATION, _CHECK_IN)


@cache
def _locking_select(vendor: str, commit_unflushed: bool) -> str:
    postgresql = vendor == "postgresql"
    # It locks the message and its patient (the SMS cap counts per patient), not the
    # location and template rows every other send reads too. NO KEY UPDATE, as an UPDATE
    # of the rows would: two sends to one patient still take turns, while booking that
    # patient a visit (its foreign key check takes KEY SHARE) need not wait for a provider.
    # SQLite has no row locks: its transactions take the whole database.
    lock = " FOR NO KEY UPDATE OF m, p" if postgresql else ""
    # The transaction's setting rides on its first statement instead of a round trip.
    unflushed = (
        ", set_config('synchronous_commit', 'off', true)" if postgresql and commit_unflushed else ""
    )
    columns = ", ".join(part.select() for part in _JOINED)
    # Identifiers come from the models' metadata, values only from parameters.
    return (
        f"SELECT {columns}, t.subject, t.body{unflushed} FROM {_MESSAGE.table}"  # noqa: S608  # nosec B608
        f" JOIN {_APPOINTMENT.table} ON a.id = m.appointment_id"
        f" JOIN {_PATIENT.table} ON p.id = a.patient_id"
        f" JOIN {_LOCATION.table} ON l.id = a.location_id"
        f" LEFT JOIN {_CHECK_IN.table} ON c.id = m.check_in_id"
        f" LEFT JOIN {_TEMPLATE.table} ON t.kind = m.kind AND t.channel = m.channel"
        f" WHERE m.id = %s{lock}"
    )


def _split(row: Sequence[Any]) -> list[Sequence[Any]]:
    """`row` cut into each joined model's values, then the wording's."""
    parts = []
    start = 0
    for part in _JOINED:
        end = start + len(part.fields)
        parts.append(row[start:end])
        start = end
    return [*parts, row[start:]]


def locked_for_sending(message_id: int, *, commit_unflushed: bool = False) -> Message | None:
    """The message with its visit, patient, location, check-in (each with the columns a send
    reads, the others deferred) and wording, its row and its patient's locked until the
    transaction ends; None if there is no such message.

    With `commit_unflushed`, on PostgreSQL, the transaction's COMMIT then returns before its
    WAL is flushed (synchronous_commit off, for this transaction only): the flush was about
    a tenth of a send under load (docs/performance.md). A server crash, or a failover to a
    standby, can then lose the last few hundred milliseconds of such commits (up to
    3 x wal_writer_delay), never a torn or partial one. What is lost is a send's outcome:
    `sent`, or a retry's new due time, a failure, a cancellation. The row is then `sending`
    again, as the dispatcher's claim left it, and that claim is durable: it commits
    synchronously, in its own transaction, before the task is even enqueued. So the
    dispatcher reclaims the row after MESSAGE_SENDING_TIMEOUT and sends it again: a
    duplicate, never a lost message, the same as a worker killed between the provider and
    the commit. (The SMS cap counts `sent` rows, so a lost mark can also let one more text
    through until the reclaim.) Any later commit that waits for the flush, such as the next
    claim, makes these durable too: the WAL is written in order."""
    sql = _locking_select(connection.vendor, commit_unflushed)
    rows = _run(sql, [message_id])
    if not rows:
        return None
    message_row, appointment_row, patient_row, location_row, check_in_row, wording = _split(rows[0])
    message = _MESSAGE.build(message_row)
    appointment = _APPOINTMENT.build(appointment_row)
    appointment.patient = _PATIENT.build(patient_row)
    appointment.location = _LOCATION.build(location_row)
    message.appointment = appointment
    if message.check_in_id is not None:
        message.check_in = _CHECK_IN.build(check_in_row)
    subject, body = wording[:2]
    # Read by content.render_message instead of a query of its own.
    message.wording = (  # type: ignore[attr-defined]
        None if body is None else {"channel": message.channel, "subject": subject, "body": body}
    )
    return message


@cache
def _sms_times_select(vendor: str) -> tuple[str, list[Converter]]:
    sent_at = _message_field("sent_at")
    column = f"m.{_quoted(sent_at.column)}"
    sql = (
        f"SELECT {column} FROM {_MESSAGE.table}"  # noqa: S608  # nosec B608 - as above
        f" JOIN {_APPOINTMENT.table} ON a.id = m.appointment_id"
        f" WHERE a.patient_id = %s AND m.channel = %s AND m.state = %s AND {column} > %s"
        f" ORDER BY {column}"
    )
    return sql, _converters_of(sent_at, "m")


def sms_sent_since(patient_id: int, since: datetime) -> list[datetime]:
    """When the patient's texts sent after `since` went out, oldest first."""
    since_value = connection.ops.adapt_datetimefield_value(since)
    params = [patient_id, Channel.SMS.value, MessageState.SENT.value, since_value]
    sql, converters = _sms_times_select(connection.vendor)
    rows = _run(sql, params)
    return [_convert(value, converters) for (value,) in rows]


@cache
def _update_statement(field_names: tuple[str, ...]) -> tuple[str, list[Field]]:
    fields = [_message_field(name) for name in field_names]
    assignments = ", ".join(f"{_quoted(field.column)} = %s" for field in fields)
    table = _quoted(Message._meta.db_table)
    return f"UPDATE {table} SET {assignments} WHERE id = %s", fields  # noqa: S608  # nosec B608


def save_message_fields(message: Message, field_names: Sequence[str]) -> None:
    """`message.save(update_fields=field_names)`, minus building the statement each time
    (Message has no signal receivers and no auto_now field for save() to apply)."""
    sql, fields = _update_statement(tuple(field_names))
    params = [
        field.get_db_prep_save(getattr(message, field.attname), connection) for field in fields
    ]
    _run(sql, [*params, message.pk], rows=False)
