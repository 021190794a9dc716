"""The statements a send runs for every message, built once per process.

A send is a few small statements on one row, run for every reminder and check-in, and the
ORM spent longer building them than the database spent running them: compiling the
locking SELECT (five tables) took about 1.5 ms, PostgreSQL planning it 1 ms more, and the
UPDATE and the SMS count cost as much again (docs/performance.md). Here each statement's
SQL is generated from the models' metadata once per process; on PostgreSQL the locking
SELECT is a prepared statement, planned once per connection; and rows become model
instances through `Model.from_db` after the fields' own database converters, as the ORM's
would, so the rest of the send works on ordinary models.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
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
    """Every concrete column of `model` under a table alias, and how to read them back."""

    model: type[M]
    alias: str

    @property
    def fields(self) -> list[Field]:
        return list(self.model._meta.concrete_fields)

    @property
    def table(self) -> str:
        return f"{_quoted(self.model._meta.db_table)} {self.alias}"

    def select(self) -> str:
        return ", ".join(f"{self.alias}.{_quoted(field.column)}" for field in self.fields)

    def build(self, values: Sequence[Any]) -> M:
        """An instance from this part's values, converted as the ORM converts them."""
        attnames, converters = _reading(self, connection.vendor)
        converted = [
            _convert(value, steps) for value, steps in zip(values, converters, strict=True)
        ]
        return self.model.from_db(connection.alias, attnames, converted)


@cache
def _reading(columns: _Columns, vendor: str) -> tuple[list[str], list[list[Converter]]]:
    """Attribute names, and the conversions the ORM applies to each column (on SQLite,
    datetimes arrive as text), worked out once per process."""
    fields = columns.fields
    return [field.attname for field in fields], [
        _converters_of(field, columns.alias) for field in fields
    ]


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


def _run(sql: str, params: Sequence[Any], *, prepare: bool = False) -> list[tuple[Any, ...]]:
    """Rows of `sql`; with `prepare`, PostgreSQL plans it once per connection."""
    if prepare and connection.vendor == "postgresql":
        connection.ensure_connection()
        # Django's own cursors bind parameters on the client and so cannot prepare.
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchall() if cursor.description else []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


_MESSAGE = _Columns(Message, "m")
_APPOINTMENT = _Columns(Appointment, "a")
_PATIENT = _Columns(Patient, "p")
_LOCATION = _Columns(Location, "l")
_CHECK_IN = _Columns(CheckIn, "c")
_TEMPLATE = _Columns(MessageTemplate, "t")
_JOINED: tuple[_Columns, ...] = (_MESSAGE, _APPOINTMENT, _PATIENT, _LOCATION, _CHECK_IN)


@cache
def _locking_select(vendor: str) -> str:
    # It locks the message and its patient (the SMS cap counts per patient), not the
    # location and template rows every other send reads too. SQLite has no row locks:
    # its transactions take the whole database.
    lock = " FOR UPDATE OF m, p" if vendor == "postgresql" else ""
    # Identifiers come from the models' metadata, values only from parameters.
    return (
        f"SELECT {', '.join(part.select() for part in _JOINED)}, t.subject, t.body"  # noqa: S608  # nosec B608
        f" FROM {_MESSAGE.table}"
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


def locked_for_sending(message_id: int) -> Message | None:
    """The message with its visit, patient, location, check-in and wording, its row and its
    patient's locked until the transaction ends; None if there is no such message."""
    rows = _run(_locking_select(connection.vendor), [message_id], prepare=True)
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
    subject, body = wording
    # Read by content.render_message instead of a query of its own.
    message.wording = (  # type: ignore[attr-defined]
        None if body is None else {"channel": message.channel, "subject": subject, "body": body}
    )
    return message


@cache
def _sms_times_select() -> str:
    column = f"m.{_quoted(_message_field('sent_at').column)}"
    return (
        f"SELECT {column} FROM {_MESSAGE.table}"  # noqa: S608  # nosec B608 - as above
        f" JOIN {_APPOINTMENT.table} ON a.id = m.appointment_id"
        f" WHERE a.patient_id = %s AND m.channel = %s AND m.state = %s AND {column} > %s"
        f" ORDER BY {column}"
    )


def sms_sent_since(patient_id: int, since: datetime) -> list[datetime]:
    """When the patient's texts sent after `since` went out, oldest first."""
    since_value = connection.ops.adapt_datetimefield_value(since)
    params = [patient_id, Channel.SMS.value, MessageState.SENT.value, since_value]
    converters = _converters_of(_message_field("sent_at"), "m")
    rows = _run(_sms_times_select(), params, prepare=True)
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
    _run(sql, [*params, message.pk], prepare=True)
