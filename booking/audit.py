"""Recording who saw or changed a patient's data (principle 6: minimum necessary).

Every staff read of a patient's record, answers or exports and every staff write is one
`AuditEvent`, written here, whether it came through a page, the API or an export. HIPAA's
audit controls (45 CFR 164.312(b)) ask for the record; the clinic admins read it on the
desk's audit page.
"""

import ipaddress
import logging

from django.http import HttpRequest
from rest_framework.request import Request

from booking.client_address import client_address
from booking.models import AuditEvent, Patient

log = logging.getLogger("booking.audit")


def _address(request: HttpRequest) -> str | None:
    """The client's address as the login lockout and the rate limits count it (behind the
    trusted proxies, the one they saw); REMOTE_ADDR when that is not an address, as when a
    request bypassed the proxy with a header of its own making."""
    for candidate in (client_address(request), request.META.get("REMOTE_ADDR")):
        try:
            return str(ipaddress.ip_address(candidate or ""))
        except ValueError:
            continue
    return None


def record(
    request: HttpRequest | Request,
    *,
    action: str,
    summary: str,
    patient: Patient | None = None,
    obj: object | None = None,
) -> AuditEvent:
    """Append one event for the request's user; `obj` names what was touched. A list or
    export that covers many patients is one event with no patient and its filters in
    `summary`.

    `request` is Django's or DRF's, whose user is the one DRF authenticated (session or
    token); Django's underneath it carries the address."""
    http_request = request._request if isinstance(request, Request) else request
    user = request.user if request.user.is_authenticated else None
    event = AuditEvent.objects.create(
        user=user,
        action=action,
        patient=patient,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        summary=summary[:500],
        ip_address=_address(http_request),
    )
    # The summary stays out of the operations log: it may hold a name or a search term,
    # and logs are kept longer and read by more people than the audit page.
    log.info(
        "audit event %s: %s %s patient %s %s %s",
        event.pk,
        user or "anonymous",
        action,
        patient.pk if patient is not None else "-",
        event.object_type or "-",
        event.object_id or "-",
    )
    return event
