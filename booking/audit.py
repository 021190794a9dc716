"""Recording who saw or changed a patient's data (principle 6: minimum necessary)."""

from django.http import HttpRequest

from booking.models import AuditEvent, Patient


def client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def record(
    request: HttpRequest,
    *,
    action: str,
    summary: str,
    patient: Patient | None = None,
    obj: object | None = None,
) -> AuditEvent:
    """Append one event for the request's user; `obj` names what was touched."""
    return AuditEvent.objects.create(
        user=request.user if request.user.is_authenticated else None,
        action=action,
        patient=patient,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        summary=summary[:500],
        ip_address=client_address(request),
    )
