"""The Celery application: `celery -A config worker` and `celery -A config beat`."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

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
    # the send task: the round trip was a tenth of a send); CELERY_DB_REUSE_MAX still
    # closes its connections now and then.
    if task.request.is_eager or getattr(task, "checks_own_connection", False):
        return
    from django.db import close_old_connections

    close_old_connections()
