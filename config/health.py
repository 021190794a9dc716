"""Readiness of the services the product depends on (/healthz), and whether beat's
dispatcher runs (/healthz/dispatcher). Project-wide, so it sits in config/, above the apps
whose parts it checks."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import app as celery_app
from followup.models import DispatcherRun

BROKER_TIMEOUT_SECONDS = 2


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


def broker_state() -> str:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


def dispatcher_state() -> str:
    """ok while Celery beat's dispatcher has run within DISPATCHER_STALE_AFTER seconds."""
    try:
        last = DispatcherRun.last_finished_at()
    except Exception as error:  # the database check reports the cause
        return f"error: {type(error).__name__}"
    if last is None:
        return "error: never run"
    if timezone.now() - last > timedelta(seconds=settings.DISPATCHER_STALE_AFTER):
        return f"error: last run {last.isoformat()}"
    return "ok"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness, for load balancers and compose's healthcheck: 200 when the database and
    the broker answer, 503 (saying which is wrong) when not. Not the dispatcher: a web
    server serves patients before beat's first run, and restarting it would not make beat
    run (that is /healthz/dispatcher's, for monitoring)."""
    return _health_answer(database=database_state(), broker=broker_state())


@never_cache
@require_safe
def healthz_dispatcher(request: HttpRequest) -> JsonResponse:
    """For monitoring: 200 while beat's dispatcher runs (its last run within
    DISPATCHER_STALE_AFTER_SECONDS), 503 when it has stopped or never ran."""
    return _health_answer(dispatcher=dispatcher_state())


def _health_answer(**states: str) -> JsonResponse:
    healthy = all(state == "ok" for state in states.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **states}, status=200 if healthy else 503
    )
