"""The audit row of a completed visit, which the staff page and the staff API both write."""

from django.http import HttpRequest
from rest_framework.request import Request

from booking.audit import record
from booking.models import Appointment, AuditEvent
from followup.models import Procedure


def record_completion(
    request: HttpRequest | Request, appointment: Appointment, procedure: Procedure | None
) -> AuditEvent:
    """A procedure is a new record (CREATE); a consult only changes the visit (CHANGE)."""
    if procedure is None:
        return record(
            request,
            action=AuditEvent.Action.CHANGE,
            summary=f"Completed visit {appointment.public_id} as a consult only",
            patient=appointment.patient,
            obj=appointment,
        )
    return record(
        request,
        action=AuditEvent.Action.CREATE,
        summary=f"Completed visit {appointment.public_id}, recording the procedure; "
        "follow-up started",
        patient=appointment.patient,
        obj=procedure,
    )
