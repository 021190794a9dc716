"""Every number the settings read from the environment goes through config/env.py's
strict parser, so a typo stops the start-up with a message naming the variable (not a bare
`ValueError: invalid literal for int()`), and the broker keeps a task longer than any task
waits before its retry."""

import ast
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "config" / "settings.py"

# Each variable the settings read as a number: counts, limits and durations.
NUMBER_VARIABLES = [
    "WAITLIST_OFFERS_PER_SLOT",
    "WAITLIST_HOLD_MINUTES",
    "ONLINE_BOOKINGS_PER_SITE",
    "OUTCOME_REFRESH_MINUTES",
    "DISPATCH_INTERVAL_SECONDS",
    "WAITLIST_EXPIRY_INTERVAL_SECONDS",
    "CLEAR_SESSIONS_INTERVAL_SECONDS",
    "BROKER_VISIBILITY_TIMEOUT_SECONDS",
    "WORKER_CONCURRENCY",
    "CELERY_DB_REUSE_MAX",
    "DISPATCH_BATCH_SIZE",
    "DISPATCH_MAX_PER_RUN",
    "MESSAGE_SENDING_TIMEOUT_SECONDS",
    "MESSAGE_MAX_ATTEMPTS",
    "PROVIDER_TIMEOUT_SECONDS",
    "DISPATCHER_STALE_AFTER_SECONDS",
    "SMS_MAX_PER_DAY",
    "SMS_MAX_PER_WEEK",
    "CHECK_IN_HOUR",
    "CHECK_IN_REMINDER_AFTER_HOURS",
    "CHECK_IN_EXPIRES_AFTER_HOURS",
    "CHECK_IN_LATE_GRACE_HOURS",
    "CHECK_IN_EDIT_WINDOW_HOURS",
    "STAFF_IDLE_MINUTES",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "TRUSTED_PROXY_COUNT",
    "API_TOKEN_HOURS",
    "EMAIL_PORT",
    "SECURE_HSTS_SECONDS",
]


def load_settings(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict:
    """config/settings.py run afresh with these variables set (milliseconds, no new process)."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_the_settings_call_no_bare_int_or_float():
    calls = [
        node.func.id
        for node in ast.walk(ast.parse(SETTINGS.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"int", "float"}
    ]
    assert calls == [], "parse numbers with config.env.integer, which names the variable"


@pytest.mark.parametrize("variable", NUMBER_VARIABLES)
def test_a_number_that_is_not_one_stops_the_start_up_naming_its_variable(monkeypatch, variable):
    with pytest.raises(ImproperlyConfigured, match=f"^{variable} must be a whole number"):
        load_settings(monkeypatch, **{variable: "soon"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CHECK_IN_HOUR", "24", "CHECK_IN_HOUR must be from 0 to 23"),
        ("EMAIL_PORT", "70000", "EMAIL_PORT must be from 1 to 65535"),
        ("WORKER_CONCURRENCY", "0", "WORKER_CONCURRENCY must be 1 or more"),
        ("DISPATCH_INTERVAL_SECONDS", "0", "DISPATCH_INTERVAL_SECONDS must be 1 or more"),
        ("STAFF_IDLE_MINUTES", "-5", "STAFF_IDLE_MINUTES must be 1 or more"),
    ],
)
def test_a_number_out_of_range_stops_the_start_up(monkeypatch, variable, value, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load_settings(monkeypatch, **{variable: value})


def test_beat_intervals_and_the_visibility_timeout_come_from_the_environment(monkeypatch):
    loaded = load_settings(
        monkeypatch,
        REDIS_URL="redis://127.0.0.1:6379/9",
        DISPATCH_INTERVAL_SECONDS="30",
        WAITLIST_EXPIRY_INTERVAL_SECONDS="120",
        CLEAR_SESSIONS_INTERVAL_SECONDS="1800",
        OUTCOME_REFRESH_MINUTES="10",
        BROKER_VISIBILITY_TIMEOUT_SECONDS="7200",
    )
    intervals = {name: entry["schedule"] for name, entry in loaded["CELERY_BEAT_SCHEDULE"].items()}
    assert intervals == {
        "dispatch-due-messages": 30,
        "expire-waitlist-offers": 120,
        "refresh-outcome-facts": 600,
        "clear-expired-sessions": 1800,
    }
    assert loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 7200


def test_no_task_retries_with_a_backoff_so_the_longest_wait_is_celerys_default():
    from config.celery import longest_retry_wait

    # Retries of sends are outbox rows with due times, never waiting tasks.
    assert longest_retry_wait() == 180  # Celery's default_retry_delay


def test_a_visibility_timeout_under_a_retry_wait_fails_the_system_check(settings):
    # Redis would hand a task waiting 3 minutes for its retry to a second worker after 2.
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 120}
    with pytest.raises(SystemCheckError, match="BROKER_VISIBILITY_TIMEOUT_SECONDS"):
        call_command("check")


def test_the_system_check_passes_with_the_default_visibility_timeout(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    call_command("check")
