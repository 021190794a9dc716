"""Contested booking under load, at CI size: bench.load_booking runs gunicorn on PostgreSQL
and releases real HTTP clients, several per free slot, at once (docs/performance.md); with
two servers, as two web replicas on one database, each slot is raced through both."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

CLIENTS = 40
SLOTS = 10
WORKERS = 2


@pytest.mark.postgres
@pytest.mark.parametrize("servers", [1, 2], ids=["one-server", "two-servers"])
def test_each_contested_slot_is_booked_once_and_every_other_client_is_offered_times(servers):
    run = subprocess.run(
        [
            *(sys.executable, "-m", "bench.load_booking", "--json", "--servers", str(servers)),
            *("--clients", str(CLIENTS), "--slots", str(SLOTS), "--workers", str(WORKERS)),
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    # A run that found problems exits 1 and names them in its JSON on stdout.
    assert run.returncode == 0, run.stdout[-3_000:] + run.stderr[-3_000:]
    figures = json.loads(run.stdout)
    assert figures["servers"] == servers
    booking = figures["booking"]
    assert booking["successes"] == SLOTS
    assert booking["conflicts"] == booking["conflicts_with_alternatives"] == CLIENTS - SLOTS
    assert booking["other_4xx"] == booking["server_errors"] == booking["no_answer"] == 0
    assert booking["overlaps"] == 0
    # The clients raced: some found a time free that another's write was taking meanwhile,
    # and only the exclusion constraint stopped them.
    assert figures["stopped_by_constraint"] > 0
    # The database alone, under the same race, lets exactly one row per slot through too.
    assert figures["bare_insert"]["inserted"] == SLOTS
    assert figures["bare_insert"]["overlaps"] == 0
    assert figures["problems"] == []
