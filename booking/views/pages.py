from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from booking import health
from booking.models import Site


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The sites a patient can book, as cards: the start of the booking flow."""
    return render(request, "booking/home.html", {"sites": Site.objects.active()})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form too old to trust (CSRF): explain and offer a way back, not Django's 403 page."""
    return render(request, "csrf_failure.html", status=403)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness, for load balancers and compose's healthcheck: 200 when the database and
    the broker answer, 503 (saying which is wrong) when not. Not the dispatcher: a web
    server serves patients before beat's first run, and restarting it would not make beat
    run (that is /healthz/dispatcher's, for monitoring)."""
    return _health_answer(database=health.database_state(), broker=health.broker_state())


@never_cache
@require_safe
def healthz_dispatcher(request: HttpRequest) -> JsonResponse:
    """For monitoring: 200 while beat's dispatcher runs (its last run within
    DISPATCHER_STALE_AFTER_SECONDS), 503 when it has stopped or never ran."""
    return _health_answer(dispatcher=health.dispatcher_state())


def _health_answer(**states: str) -> JsonResponse:
    healthy = all(state == "ok" for state in states.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **states}, status=200 if healthy else 503
    )
