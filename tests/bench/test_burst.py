"""A burst of check-ins falling due at once, at CI size: bench.burst seeds them, starts a
worker with docker-compose.yml's command on a Redis started as compose's, ticks as beat
does, and counts every message sent once (docs/performance.md, "Burst")."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

CHECK_INS = 200


@pytest.mark.postgres
@pytest.mark.redis
def test_every_check_in_falling_due_at_once_is_sent_once():
    run = subprocess.run(
        [
            *(sys.executable, "-m", "bench.burst", "--json", "--runs", "1"),
            *("--check-ins", str(CHECK_INS), "--interval", "2", "--phase", "1"),
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-3_000:] + run.stderr[-3_000:]
    (figures,) = json.loads(run.stdout)["runs"]
    assert figures["count"] == figures["sent"] == CHECK_INS
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
    # Nothing is sent before the dispatcher's first tick after the check-ins fell due.
    assert figures["first_tick"] <= figures["first_sent"] <= figures["drained"]
