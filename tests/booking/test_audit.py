"""The audit log is append-only, and merging patients never rewrites it."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.test import RequestFactory

from booking.audit import record
from booking.models import AuditEvent
from booking.patients import merge_patients
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 17, tzinfo=UTC)


@pytest.fixture
def event(receptionist) -> AuditEvent:
    request = RequestFactory().get("/desk/patients/1/", REMOTE_ADDR="203.0.113.5")
    request.user = receptionist
    with time_machine.travel(NOW, tick=False):
        return record(
            request,
            action=AuditEvent.Action.VIEW,
            patient=PatientFactory(),
            obj=None,
            summary="Viewed the patient record",
        )


def test_record_keeps_who_what_when_and_from_where(event, receptionist):
    saved = AuditEvent.objects.get(pk=event.pk)
    assert saved.user == receptionist
    assert saved.at == NOW
    assert saved.ip_address == "203.0.113.5"
    assert saved.action == "view"


def test_the_model_refuses_updates(event):
    event.summary = "Nothing to see"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).summary == "Viewed the patient record"


def test_the_model_refuses_deletes(event):
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
def test_postgresql_refuses_bulk_updates_and_deletes(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).summary == "Viewed the patient record"


def _audit_rows() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("pk").values_list(
            "pk", "at", "user_id", "action", "patient_id", "object_type", "object_id", "summary"
        )
    )


@pytest.mark.postgres
def test_a_merge_never_updates_audit_rows(client, receptionist):
    """With the trigger in place, a merge that touched an audit row would fail; and the
    rows about both patients read exactly as before, the duplicate's still naming it."""
    keep = PatientFactory()
    duplicate = PatientFactory(date_of_birth=keep.date_of_birth)
    AppointmentFactory(patient=duplicate)
    client.force_login(receptionist)
    client.get(f"/desk/patients/{keep.pk}/")
    client.get(f"/desk/patients/{duplicate.pk}/")
    before = _audit_rows()
    assert any(row[4] == duplicate.pk for row in before)

    merge_patients(keep, duplicate)

    assert _audit_rows() == before
    assert duplicate.appointments.count() == 0


def test_merging_through_the_page_appends_and_rewrites_nothing(client, receptionist):
    keep = PatientFactory()
    duplicate = PatientFactory(date_of_birth=keep.date_of_birth)
    AppointmentFactory(patient=duplicate)
    client.force_login(receptionist)
    client.get(f"/desk/patients/{duplicate.pk}/")
    before = _audit_rows()
    response = client.post(f"/desk/patients/{keep.pk}/merge/", {"duplicate": duplicate.pk})
    assert response.status_code == 302
    after = _audit_rows()
    assert after[: len(before)] == before
    assert len(after) == len(before) + 2
