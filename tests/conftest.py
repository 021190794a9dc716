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
