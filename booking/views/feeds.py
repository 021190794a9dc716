"""A clinician's calendar feed, which needs no login because its token is the key. The
page that shows and renews its URL is the desk's (`booking.desk.feed_link`)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from booking import feeds
from booking.audit import record
from booking.models import AuditEvent


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = feeds.feed_by_token(token)
    if feed is None:
        raise Http404
    body = feeds.build_feed(feed.clinician)
    record(
        request,
        action=AuditEvent.Action.VIEW,
        obj=feed,
        summary=f"Calendar feed of {feed.clinician} fetched",
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
