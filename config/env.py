"""Strict parsing of the settings that come from the environment.

Each function raises ImproperlyConfigured with a message that names the variable and
what was wrong, so a bad deployment stops at start-up instead of failing on the first
request.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import environ
from django.core.exceptions import ImproperlyConfigured

DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}
REDIS_SCHEMES = {"redis", "rediss"}


def database_config(url: str) -> dict:
    """Django DATABASES entry for a `DATABASE_URL` (PostgreSQL or SQLite)."""
    parts = urlsplit(url)
    if parts.scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with postgres:// or sqlite:/// (got {url!r})."
        )
    try:
        config = environ.Env.db_url_config(url)
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {error}.") from error
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL names no database (got {url!r}).")
    if parts.scheme != "sqlite" and not parts.hostname:
        raise ImproperlyConfigured(f"DATABASE_URL names no host (got {url!r}).")
    if parts.scheme == "sqlite":
        config["OPTIONS"] = sqlite_options()
    else:
        config["CONN_MAX_AGE"] = 60
        config["CONN_HEALTH_CHECKS"] = True
    return config


def sqlite_options() -> dict:
    # WAL lets the web server and the Celery worker read while one writes;
    # IMMEDIATE takes the write lock at BEGIN, which serialises check-then-write
    # sections (booking) instead of failing them half-way with "database is locked".
    return {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }


def redis_url(url: str) -> str:
    """A validated `REDIS_URL` (redis:// or rediss://, with a host and a numeric port)."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ImproperlyConfigured(f"REDIS_URL must start with redis:// (got {url!r}).")
    try:
        parts.port  # noqa: B018 - urlsplit only validates the port on access
    except ValueError as error:
        raise ImproperlyConfigured(f"REDIS_URL has a bad port (got {url!r}).") from error
    if not parts.hostname:
        raise ImproperlyConfigured(f"REDIS_URL names no host (got {url!r}).")
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL database must be a number (got {url!r}).")
    return url


def time_zone(name: str, *, variable: str = "TIME_ZONE") -> str:
    """A validated IANA time zone name."""
    if name not in available_timezones():
        raise ImproperlyConfigured(f"{variable} is not an IANA time zone (got {name!r}).")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError as error:  # pragma: no cover - listed but unloadable
        raise ImproperlyConfigured(f"{variable} cannot be loaded (got {name!r}).") from error
    return name


def local_folder(path: Path) -> Path:
    """`path`, created if missing (with its parents)."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def filesystem_broker_options(var_dir: Path) -> dict:
    """Transport options of kombu's filesystem broker, a broker that needs no server.

    Messages go to var/broker/, and the exchange tables of broadcasts (remote control, as
    `celery inspect ping`) to var/broker-control/ rather than kombu's default, a `control/`
    folder in whichever directory the process started.
    """
    messages = local_folder(var_dir / "broker")
    return {
        "data_folder_in": str(messages),
        "data_folder_out": str(messages),
        "control_folder": str(local_folder(var_dir / "broker-control")),
    }


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def boolean(name: str, value: str) -> bool:
    """Strict boolean: a typo such as DEBUG=ture fails instead of silently meaning False."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (got {value!r}).")


WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def integer(name: str, value: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number from `minimum` to `maximum`: counts, limits and durations.

    Only plain decimal digits: int() would also take "1_000", "+3" or other scripts' digits,
    and its ValueError would not say which variable was wrong.
    """
    text = value.strip()
    if not WHOLE_NUMBER.fullmatch(text):
        raise ImproperlyConfigured(f"{name} must be a whole number (got {value!r}).")
    number = int(text)
    if maximum is not None and not minimum <= number <= maximum:
        raise ImproperlyConfigured(f"{name} must be from {minimum} to {maximum} (got {value!r}).")
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} or more (got {value!r}).")
    return number


def throttle_rate(name: str, value: str) -> str | None:
    """A DRF rate such as `30/min`; `0` (or empty) turns the throttle off (None)."""
    rate = value.strip()
    if rate in {"", "0"}:
        return None
    count, _, period = rate.partition("/")
    if not count.isdigit() or int(count) < 1 or period[:1] not in {"s", "m", "h", "d"}:
        raise ImproperlyConfigured(
            f"{name} must look like 30/min, or 0 for no limit (got {value!r})."
        )
    return rate


def required(name: str, value: str, *, why: str = "when DEBUG is off") -> str:
    """`value`, or ImproperlyConfigured naming the variable when it is empty."""
    if not value.strip():
        raise ImproperlyConfigured(f"{name} must be set {why}.")
    return value


def url_prefix(name: str, value: str) -> str:
    """A path prefix such as `staff-admin/`: no leading slash, one trailing slash."""
    prefix = value.strip()
    if not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix:
        raise ImproperlyConfigured(
            f"{name} must be a path such as admin/ (no leading slash, one trailing slash; "
            f"got {value!r})."
        )
    return prefix
