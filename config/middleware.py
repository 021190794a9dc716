"""Project-wide request rules that no single view should have to remember: hostile query
strings, responses kept out of caches, and the staff idle logoff (docs/security.md)."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.auth import SESSION_KEY, logout
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

Middleware = Callable[[HttpRequest], HttpResponse]

REGEX_LOOKUPS = ("__regex", "__iregex")
LAST_SEEN = "staff-last-seen"
# The idle clock is written at most this often.
LAST_SEEN_RESOLUTION_SECONDS = 60


def refuse_hostile_query_strings(get_response: Middleware) -> Middleware:
    """400 for a NUL character anywhere in a page's query string (PostgreSQL refuses NUL in
    a query, so a search for it would be a 500; forms' fields already refuse it), and for
    the admin's regular-expression lookups (`?email__regex=(` would reach PostgreSQL as a
    500; no changelist filter makes one, and a costly pattern runs on the database).
    Raised as SuspiciousOperation, so handler400 answers and django.security logs it.
    The API reads its parameters through serializers, whose fields refuse NUL with a
    400 naming the field, so it is left to them."""

    def middleware(request: HttpRequest) -> HttpResponse:
        api = request.path_info.startswith("/api/")
        for name, values in request.GET.lists():
            if not api and ("\x00" in name or any("\x00" in value for value in values)):
                raise SuspiciousOperation("A NUL character in the query string.")
            if _in_admin(request) and name.endswith(REGEX_LOOKUPS):
                raise DisallowedModelAdminLookup("Regular-expression lookups are not offered.")
        return get_response(request)

    return middleware


def _in_admin(request: HttpRequest) -> bool:
    return request.path_info.startswith(f"/{settings.ADMIN_URL}")


def no_store(get_response: Middleware) -> Middleware:
    """`Cache-Control: no-store` on every response the app makes, unless the view chose its
    own. Static files never reach this (WhiteNoise answers them first, with long caching).

    Everything else either carries patient data (pages, links, the staff API, exports) or
    is cheap and changes with each booking (catalogue, availability), so no page has to be
    remembered: neither a shared proxy nor the browser (back button, disk cache on a front
    desk PC) keeps a copy."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response

    return middleware


def idle_logoff(get_response: Middleware) -> Middleware:
    """Log out a signed-in user whose last request was more than STAFF_IDLE_MINUTES ago
    (automatic logoff, HIPAA § 164.312(a)(2)(iii)): a desk left open shows nothing to the
    next person. Only logged-in sessions; patients have none.

    The time of the last request is kept in the cache (Redis in production, shared by the
    web replicas) under the session's key, at most once a minute, rather than in the
    session, which would cost a database write per staff request. A session the cache has
    no time for (new, or the cache was emptied) starts its clock at that request."""

    def middleware(request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session and session.session_key:
            key = f"{LAST_SEEN}:{session.session_key}"
            now = int(timezone.now().timestamp())
            last_seen = cache.get(key)
            if last_seen is not None and now - last_seen > settings.STAFF_IDLE_MINUTES * 60:
                cache.delete(key)
                logout(request)
                messages.info(
                    request,
                    f"You were logged out after {settings.STAFF_IDLE_MINUTES} minutes "
                    "without activity. Please log in again.",
                )
            elif last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
                cache.set(key, now, timeout=settings.SESSION_COOKIE_AGE)
        return get_response(request)

    return middleware
