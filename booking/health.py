"""Readiness of the services the product depends on (/healthz), and whether beat's
dispatcher runs (/healthz/dispatcher)."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

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
