"""A real Celery worker process for the tests that must see one send (not eager mode)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.db import connection

from tests.faults.harness import database_url
from tests.processes import stop_process

REPLACED = {"DJANGO_SETTINGS_MODULE", "DEBUG", "DATABASE_URL", "REDIS_URL"}


@contextmanager
def celery_worker(
    folder: Path, *, name: str, queue: str | None = None, **environment: str
) -> Iterator[SimpleNamespace]:
    """`celery -A config worker` (solo pool) on the test database and broker, with production
    settings, SMS and email written to files under `folder`; `environment` adds or replaces
    variables. Yields its sinks (`sms`, `email`, `log`) and `process`; always stopped."""
    worker = SimpleNamespace(
        sms=folder / "worker-sms" / "sent.jsonl",
        email=folder / "worker-email",
        log=folder / "worker.log",
    )
    env = {key: value for key, value in os.environ.items() if key not in REPLACED}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=settings.SECRET_KEY,  # the links it sends must verify in this process
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.REDIS_URL,
        SMS_BACKEND="followup.channels.FileSmsBackend",
        SMS_FILE_PATH=str(worker.sms),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(worker.email),
        STATIC_MANIFEST="false",
        LOG_LEVEL="INFO",
    )
    env.update(environment)
    command = [
        sys.executable,
        *("-m", "celery", "-A", "config", "worker", "--pool", "solo", "--concurrency", "1"),
        *(("-Q", queue) if queue else ()),
        *("-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"),
        *("-l", "info"),
    ]
    with worker.log.open("w") as log:
        worker.process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield worker
        finally:
            stop_process(worker.process, grace=20)
