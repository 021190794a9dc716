"""The Celery application: `celery -A config worker` and `celery -A config beat`."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun
from django.conf import settings
from django.core import checks
from django.db import close_old_connections
from django.utils.module_loading import autodiscover_modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("painclinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _recycle_old_database_connections(*, task: Any, **kwargs: Any) -> None:
    # Workers keep their database connection between tasks (CELERY_DB_REUSE_MAX), so
    # apply what Django does between requests: drop connections past CONN_MAX_AGE or
    # broken (CONN_HEALTH_CHECKS: a `SELECT 1` round trip), e.g. after PostgreSQL restarted.
    # Not for a task run eagerly inside a request or a test: that connection belongs to the
    # caller. Nor for one that replaces a broken connection itself (checks_own_connection,
    # the send task, which spares each send the round trip); CELERY_DB_REUSE_MAX still
    # closes its connections now and then.
    if task.request.is_eager or getattr(task, "checks_own_connection", False):
        return
    close_old_connections()


def longest_retry_wait() -> float:
    """The longest a task of this project may wait for its next try, in seconds.

    A task waiting for a retry is held, unacknowledged, by a worker: its backoff's cap
    (`retry_backoff_max`) with a backoff, else `default_retry_delay`.
    """
    # Every app's tasks, as a worker loads them (not through Celery's loader, whose
    # Django fix-up runs the system checks, and so this one again).
    autodiscover_modules("tasks")
    return max(
        # Celery sets retry_backoff(_max) only on tasks declared with them; 600 is its default.
        getattr(task, "retry_backoff_max", 600)
        if getattr(task, "retry_backoff", False)
        else task.default_retry_delay
        for task in app.tasks.values()
    )


@checks.register("celery")
def check_visibility_timeout(**kwargs: Any) -> list[checks.CheckMessage]:
    """Redis gives a task a worker has not acknowledged to another worker after the
    visibility timeout: one waiting longer than that for its retry would run twice. `migrate`
    runs this check (in compose, before web, worker and beat start) as does `manage.py check`.
    """
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    wait = longest_retry_wait()
    if timeout is None or timeout > wait:
        return []
    return [
        checks.Error(
            f"BROKER_VISIBILITY_TIMEOUT_SECONDS ({timeout}) must be longer than the longest "
            f"wait of a task before its retry ({wait:g} seconds), or Redis delivers that "
            "task to a second worker while it waits.",
            id="config.E001",
        )
    ]
