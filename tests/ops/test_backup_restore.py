"""The backup and restore of docs/operations.md, tried: the demo clinic is dumped with
`pg_dump -Fc`, restored with `pg_restore` into a scratch database, and every table holds
the same rows afterwards."""

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from followup.demo import seed_demo_clinic
from tests.e2e.conftest import catalogue  # noqa: F401 - the sites an earlier flush removed

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def libpq_arguments(database: str) -> list[str]:
    """pg_dump/pg_restore's connection options for `database` on the test server."""
    settings = connection.settings_dict
    arguments = ["--host", settings["HOST"] or "localhost", "--dbname", database]
    if settings["PORT"]:
        arguments += ["--port", str(settings["PORT"])]
    if settings["USER"]:
        arguments += ["--username", settings["USER"]]
    return arguments


def connect(database: str) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=database,
        autocommit=True,
    )


def row_counts(database: str) -> dict[str, int]:
    with connect(database) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }


@pytest.fixture
def scratch_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with connect("postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with connect("postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.mark.usefixtures("catalogue")
def test_a_dump_restores_every_row_into_a_new_database(scratch_database, tmp_path: Path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.fail("pg_dump and pg_restore must be installed (postgresql-client)")
    seed_demo_clinic()
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "clinic.dump"

    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), *libpq_arguments(source)],
        check=True,
        timeout=300,
    )
    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            *libpq_arguments(scratch_database),
            str(dump),
        ],
        check=True,
        timeout=300,
    )

    before, after = row_counts(source), row_counts(scratch_database)
    assert before["booking_appointment"] > 100  # the demo clinic, not an empty database
    assert after == before
