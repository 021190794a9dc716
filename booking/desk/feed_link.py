"""A clinician's calendar feed link at the desk: the page that shows its private URL and
renews it, revoking the old one."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from booking import feeds
from booking.audit import record
from booking.models import AuditEvent
from booking.patients import clinician_of
from booking.roles import STAFF_ROLES, staff_only


def _feed_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("calendar_feed", args=[token])


@require_http_methods(["GET", "HEAD", "POST"])
@staff_only(*STAFF_ROLES)
def feed_page(request: HttpRequest) -> HttpResponse:
    clinician = clinician_of(request.user)
    if clinician is None:
        return render(request, "booking/desk/feed.html", {"clinician": None})
    if request.method == "POST":
        feed = feeds.revoke_and_renew(clinician)
        record(
            request,
            action=AuditEvent.Action.CHANGE,
            obj=feed,
            summary=f"Revoked the calendar feed link of {clinician} and made a new one",
        )
        messages.success(request, "The old link no longer works. Subscribe with the new one.")
        return redirect("desk:feed")
    feed = feeds.feed_for(clinician)
    return render(
        request,
        "booking/desk/feed.html",
        {"clinician": clinician, "feed": feed, "feed_url": _feed_url(feed.token)},
    )
