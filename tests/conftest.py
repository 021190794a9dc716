"""Fixtures every test shares, and how a test controls time.

Every test passes whatever day it runs: CI runs the date-sensitive folders a second time with
the clock moved years ahead to a Saturday night before the clocks change
(`make test-shifted-clock`, Debian's faketime). So a test that depends on the date, the
weekday or the time of day fixes them: `time_machine.travel(NOW, tick=False)` around
everything that reads the clock, threads included (time_machine patches the whole process),
and `now=` to the domain functions that take it. A test that starts another process (a
Celery worker, gunicorn) cannot move that process's clock: it takes its times from
`timezone.now()`, never from a fixed NOW. The code reads the time from Python only, never
from PostgreSQL's now(), which faketime does not move.
"""

import os

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION
from tests.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def _missing_service(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing_service(item)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES is set but this test {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()


def _staff(username: str, role: str) -> User:
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def receptionist(db) -> User:
    return _staff("rita", RECEPTION)


@pytest.fixture
def clinician_user(db) -> User:
    return _staff("dr.patel", CLINICIAN)


@pytest.fixture
def clinic_admin(db) -> User:
    return _staff("alex", CLINIC_ADMIN)


@pytest.fixture
def patient_user(db) -> User:
    """Someone with an account who is not staff (for permission tests)."""
    return UserFactory(username="pat")
