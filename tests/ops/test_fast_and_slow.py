"""`make test-fast` is the suite without the tests marked slow: the browser journeys, the
fault, load and property tests, and the modules that start servers or workers of their own.
`make test` runs everything."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLOW = [
    "tests/e2e",
    "tests/faults",
    "tests/load",
    "tests/hostile/test_properties.py",
    "tests/hostile/test_schema_fuzz.py",
    "tests/access/test_object_urls.py",
    "tests/bench/test_burst.py",
    "tests/booking/test_migrations.py",
    "tests/booking/test_seed_demo.py",
    "tests/ops/test_backup_restore.py",
    "tests/ops/test_recipes.py",
]
NO_TESTS_COLLECTED = 5  # pytest's exit code


def pytest_command(target: str) -> list[str]:
    """The pytest command `make <target>` would run (`make -n` prints it, running nothing),
    without the extra arguments a caller may pass in PYTEST_ARGS (CI passes some)."""
    printed = subprocess.run(
        ["make", "-n", target, "PYTEST_ARGS="], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return next(line.split() for line in printed.splitlines() if "bin/pytest" in line)


def test_make_test_fast_leaves_out_the_slow_marker_and_make_test_nothing():
    assert pytest_command("test-fast")[1:] == ["-m", '"not', 'slow"']
    assert pytest_command("test")[1:] == []


def test_every_test_in_the_slow_modules_is_marked_slow():
    collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [*collect, "-m", "not slow", *SLOW],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == NO_TESTS_COLLECTED, run.stdout[-3_000:] + run.stderr[-3_000:]
