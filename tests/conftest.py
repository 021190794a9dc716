"""Fixtures every test shares, and how a test controls time.

Every test passes whatever day it runs. CI runs the date-sensitive folders a second time with
the clock started years ahead, on a Saturday night before the clocks change
(`make test-shifted-clock`, which passes `--clock=<ISO moment>`: the whole session then runs
under a ticking `time_machine.travel`). So a test that depends on the date, the weekday or
the time of day fixes them: the `clock` fixture below (the module's NOW), or
`time_machine.travel(moment, tick=False)`, around everything that reads the clock, threads
included (time_machine patches the whole process), and `now=` to the domain functions that
take it. A test that starts another process (a Celery worker,
gunicorn) cannot move that process's clock: it takes its times from `timezone.now()`, never
from a fixed NOW. The code reads the time from Python only, never from PostgreSQL's now(),
which no test moves.
"""

import os
from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION
from tests.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        metavar="ISO_MOMENT",
        help="run the session as if it started at this moment (with its UTC offset); "
        "the clock ticks from there",
    )


def pytest_configure(config: pytest.Config) -> None:
    start = config.getoption("--clock")
    if start:
        moment = datetime.fromisoformat(start)
        if moment.tzinfo is None:
            raise pytest.UsageError(f"--clock needs a UTC offset: {start}")
        config.stash[_CLOCK] = time_machine.travel(moment, tick=True)
        config.stash[_CLOCK].start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _CLOCK in config.stash:
        config.stash[_CLOCK].stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    start = config.getoption("--clock")
    return f"clock: started at {start} (time_machine)" if start else None


_CLOCK = pytest.StashKey[time_machine.travel]()


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


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller]:
    """The clock stopped at the test module's NOW; `clock.move_to(...)` moves it.

    A module whose every test needs it says `pytestmark = pytest.mark.usefixtures("clock")`.
    Under --clock this stops the session's ticking clock for the test, and the test ends
    with it ticking again.
    """
    with time_machine.travel(request.module.NOW, tick=False) as traveller:
        yield traveller


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
