"""The send path's own statements read and write exactly what the ORM would."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection, transaction

from followup.models import Channel, Message, MessageKind, MessageState, MessageTemplate
from followup.send_queries import locked_for_sending, save_message_fields, sms_sent_since
from tests.factories import PatientFactory, day_1_check_in_message

pytestmark = pytest.mark.django_db


def every_column(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def loaded_columns(instance) -> dict:
    """The columns read into `instance`, without loading the deferred ones."""
    deferred = instance.get_deferred_fields()
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.fields
        if field.attname not in deferred
    }


@pytest.fixture
def check_in_sms():
    patient = PatientFactory(phone="+12125550123", consent_sms=True, consent_email=True)
    return day_1_check_in_message(patient, Channel.SMS)


def test_the_locked_message_carries_the_columns_a_send_reads_as_the_orm_reads_them(check_in_sms):
    with transaction.atomic():
        message = locked_for_sending(check_in_sms.pk)
    expected = Message.objects.select_related(
        "appointment__patient", "appointment__location", "check_in"
    ).get(pk=check_in_sms.pk)
    assert loaded_columns(message) == every_column(expected)
    read = {
        "appointment": {"id", "public_id", "patient_id", "location_id", "start", "status"},
        "patient": {"id", "first_name", "email", "consent_email", "consent_sms"},
        "location": {"id", "time_zone"},
        "check_in": {"id", "state", "expires_at"},
    }
    appointment, orm_appointment = message.appointment, expected.appointment
    instances = {
        "appointment": (appointment, orm_appointment),
        "patient": (appointment.patient, orm_appointment.patient),
        "location": (appointment.location, orm_appointment.location),
        "check_in": (message.check_in, expected.check_in),
    }
    for name, (instance, orm_instance) in instances.items():
        orm_values = every_column(orm_instance)
        assert loaded_columns(instance) == {column: orm_values[column] for column in read[name]}
    template = MessageTemplate.objects.get(kind=MessageKind.CHECK_IN, channel=Channel.SMS)
    assert message.wording == {"channel": "sms", "subject": template.subject, "body": template.body}


def test_reading_the_locked_message_makes_no_further_query(check_in_sms, django_assert_num_queries):
    with transaction.atomic():
        message = locked_for_sending(check_in_sms.pk)
        with django_assert_num_queries(0):
            assert message.appointment.patient.first_name
            assert message.appointment.patient.email
            assert message.appointment.location.zone
            assert message.check_in.expires_at


def test_a_column_a_send_leaves_unread_is_loaded_if_asked_for(
    check_in_sms, django_assert_num_queries
):
    with transaction.atomic():
        patient = locked_for_sending(check_in_sms.pk).appointment.patient
    assert {"phone", "last_name", "date_of_birth"} <= patient.get_deferred_fields()
    with django_assert_num_queries(1):
        assert str(patient.phone) == "+12125550123"


def test_a_reminder_has_no_check_in_and_a_missing_template_no_wording(check_in_sms):
    reminder = Message.objects.create(
        appointment=check_in_sms.appointment,
        kind=MessageKind.REMINDER,
        channel=Channel.EMAIL,
        minutes_before=60,
        recipient="ana@example.org",
        due_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    MessageTemplate.objects.filter(kind=reminder.kind, channel=reminder.channel).delete()
    with transaction.atomic():
        message = locked_for_sending(reminder.pk)
    assert message.check_in is None
    assert message.wording is None


def test_no_message_reads_as_none():
    with transaction.atomic():
        assert locked_for_sending(999_999) is None


@pytest.mark.postgres
def test_postgresql_plans_the_locking_select_once_per_connection_not_per_send(check_in_sms):
    for _ in range(8):
        with transaction.atomic():
            locked_for_sending(check_in_sms.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ["%FOR NO KEY UPDATE OF m, p%"],
        )
        [(runs, planned)] = cursor.fetchall()  # one prepared statement for all eight
    assert runs == 8
    assert planned < 8  # then run on its generic plan, planned no more


def locked_elsewhere(table: str, row_id: int, mode: str = "UPDATE") -> bool:
    """Whether another connection finds the row locked (FOR `mode` NOWAIT refused)."""
    outcome = []

    def try_lock() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                lock = f"SELECT 1 FROM {table} WHERE id = %s FOR {mode} NOWAIT"  # noqa: S608
                cursor.execute(lock, [row_id])
            outcome.append(False)
        except OperationalError:
            outcome.append(True)
        finally:
            connection.close()

    thread = threading.Thread(target=try_lock)
    thread.start()
    thread.join()
    return outcome[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_message_and_its_patient_stay_locked_and_the_shared_rows_do_not(check_in_sms):
    appointment = check_in_sms.appointment
    with transaction.atomic():
        locked_for_sending(check_in_sms.pk)
        assert locked_elsewhere("followup_message", check_in_sms.pk)
        assert locked_elsewhere("booking_patient", appointment.patient_id)
        assert not locked_elsewhere("booking_location", appointment.location_id)
        assert not locked_elsewhere("booking_appointment", appointment.pk)
    assert not locked_elsewhere("followup_message", check_in_sms.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_send_in_progress_holds_up_another_send_to_its_patient_but_not_a_booking(
    check_in_sms,
):
    patient_id = check_in_sms.appointment.patient_id
    with transaction.atomic():
        locked_for_sending(check_in_sms.pk)
        # What a second send to the same patient takes, and waits for.
        assert locked_elsewhere("booking_patient", patient_id, mode="NO KEY UPDATE")
        # What inserting the patient's next appointment takes for its foreign key.
        assert not locked_elsewhere("booking_patient", patient_id, mode="KEY SHARE")


def test_saved_fields_read_back_as_the_orm_saved_them(check_in_sms):
    sent_at = datetime(2026, 12, 2, 15, 0, 1, 250_000, tzinfo=UTC)
    check_in_sms.state = MessageState.SENT
    check_in_sms.sent_at = sent_at
    check_in_sms.attempts = 2
    check_in_sms.provider_message_id = "SM123"
    check_in_sms.recipient = "+12125550999"  # changed, but not among the fields saved
    before = every_column(Message.objects.get(pk=check_in_sms.pk))
    with transaction.atomic():
        save_message_fields(check_in_sms, ["state", "sent_at", "attempts", "provider_message_id"])
    stored = every_column(Message.objects.get(pk=check_in_sms.pk))
    assert stored == {
        **before,
        "state": MessageState.SENT,
        "sent_at": sent_at,
        "attempts": 2,
        "provider_message_id": "SM123",
    }


def test_sms_sent_since_lists_only_the_patients_sent_texts_after_the_moment(check_in_sms):
    patient = check_in_sms.appointment.patient
    texts = Message.objects.filter(appointment__patient=patient, channel=Channel.SMS)
    moments = [datetime(2026, 12, 1, 9, tzinfo=UTC) + timedelta(hours=hours) for hours in (5, 1, 3)]
    for message, moment in zip(texts, moments, strict=False):
        Message.objects.filter(pk=message.pk).update(state=MessageState.SENT, sent_at=moment)
    sent = sorted(moments[: texts.count()])
    assert sms_sent_since(patient.pk, datetime(2026, 12, 1, tzinfo=UTC)) == sent
    assert sms_sent_since(patient.pk, sent[-1]) == []
    assert sms_sent_since(PatientFactory().pk, datetime(2026, 12, 1, tzinfo=UTC)) == []
