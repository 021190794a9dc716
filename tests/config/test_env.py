import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parents[2]


class TestDatabaseUrl:
    def test_it_reads_postgres(self):
        config = env.database_config("postgres://clinic:secret@db.internal:5433/clinic")
        assert config["ENGINE"] == "django.db.backends.postgresql"
        assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "clinic")
        assert config["CONN_HEALTH_CHECKS"] is True

    def test_it_reads_sqlite_with_serialising_options(self):
        config = env.database_config("sqlite:////tmp/clinic.sqlite3")
        assert config["ENGINE"] == "django.db.backends.sqlite3"
        assert config["NAME"] == "/tmp/clinic.sqlite3"
        assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("not-a-url", "must start with postgres://"),
            ("mysql://root@localhost/clinic", "must start with postgres://"),
            ("postgres://db:port/clinic", "malformed"),
            ("postgres://db.internal:5432/", "names no database"),
            ("postgres:///clinic", "names no host"),
        ],
    )
    def test_it_rejects_malformed_urls(self, url, message):
        with pytest.raises(ImproperlyConfigured, match=message):
            env.database_config(url)


class TestRedisUrl:
    def test_it_accepts_a_redis_url(self):
        assert env.redis_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://127.0.0.1:6379", "must start with redis://"),
            ("redis://127.0.0.1:notaport/0", "bad port"),
            ("redis://:6379/0", "names no host"),
            ("redis://127.0.0.1:6379/first", "database must be a number"),
        ],
    )
    def test_it_rejects_malformed_urls(self, url, message):
        with pytest.raises(ImproperlyConfigured, match=message):
            env.redis_url(url)


def test_time_zone_accepts_iana_names_and_rejects_others():
    assert env.time_zone("America/New_York") == "America/New_York"
    with pytest.raises(ImproperlyConfigured, match="not an IANA time zone"):
        env.time_zone("Eastern Standard Time")


@pytest.mark.parametrize(
    ("word", "value"), [("true", True), ("Yes", True), ("0", False), ("", False)]
)
def test_boolean_reads_plain_words(word, value):
    assert env.boolean("DEBUG", word) is value


def test_boolean_rejects_a_typo():
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env.boolean("DEBUG", "ture")


def _start_with(*command: str, **variables: str) -> subprocess.CompletedProcess:
    """manage.py COMMAND (`check` if none) with the environment's settings replaced."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "TIME_ZONE",
            "DEBUG",
            "SECRET_KEY",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    environment.update({"DEBUG": "true", **variables})
    return subprocess.run(
        [sys.executable, "manage.py", *(command or ("check",))],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DATABASE_URL": "postgres//oops"}, "DATABASE_URL must start with postgres://"),
        ({"REDIS_URL": "redis://localhost:xx"}, "REDIS_URL has a bad port"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE is not an IANA time zone"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is off"),
        (
            {"PROVIDER_TIMEOUT_SECONDS": "300", "MESSAGE_SENDING_TIMEOUT_SECONDS": "600"},
            "PROVIDER_TIMEOUT_SECONDS must be above 0 and under a third of",
        ),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a whole number (got 'twenty-five')"),
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/9", "BROKER_VISIBILITY_TIMEOUT_SECONDS": "120"},
            "BROKER_VISIBILITY_TIMEOUT_SECONDS (120) must be longer than the longest wait",
        ),
    ],
)
def test_the_project_refuses_to_start_with_bad_settings(variables, message):
    result = _start_with(**variables)
    assert result.returncode != 0
    assert message in result.stderr


def test_signing_keys_outcome_refresh_worker_pool_and_provider_timeout_come_from_the_environment():
    result = _start_with(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; "
        "print(settings.SECRET_KEY_FALLBACKS); "
        "print(settings.CELERY_BEAT_SCHEDULE['refresh-outcome-facts']['schedule']); "
        "from config.celery import app; print(app.conf.worker_concurrency); "
        "print(settings.EMAIL_TIMEOUT)",
        SECRET_KEY_FALLBACKS="old-key-one,old-key-two",
        OUTCOME_REFRESH_MINUTES="15",
        WORKER_CONCURRENCY="3",
        PROVIDER_TIMEOUT_SECONDS="12",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['old-key-one', 'old-key-two']", "900.0", "3", "12"]


class TestInteger:
    @pytest.mark.parametrize(("text", "number"), [("0", 0), ("25", 25), (" 8 ", 8)])
    def test_it_reads_whole_numbers(self, text, number):
        assert env.integer("EMAIL_PORT", text) == number

    # "²" is a digit to str.isdigit but not to int; "1_000" is an int literal, not a number
    # anyone types; "" is a variable left empty in an .env file.
    @pytest.mark.parametrize("text", ["", "soon", "2h", "1.5", "²", "1_000", "0x10", "+3"])
    def test_it_names_the_variable_of_what_is_not_a_whole_number(self, text):
        with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be a whole number"):
            env.integer("EMAIL_PORT", text)

    def test_it_names_the_variable_and_the_range_of_a_number_out_of_it(self):
        with pytest.raises(ImproperlyConfigured, match=r"CHECK_IN_HOUR must be from 0 to 23"):
            env.integer("CHECK_IN_HOUR", "24", minimum=0, maximum=23)
        with pytest.raises(ImproperlyConfigured, match=r"WORKER_CONCURRENCY must be 1 or more"):
            env.integer("WORKER_CONCURRENCY", "0", minimum=1)
