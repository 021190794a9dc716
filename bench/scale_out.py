"""Scale-out: two web servers, two workers and two dispatchers on one database and broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic .venv/bin/python -m bench.scale_out

Two runs, one after the other, each in throwaway databases of its own:

- bench.load_booking with `--servers 2`: two gunicorn processes (replicas of the web
  service) on one PostgreSQL database, the contested-booking clients round-robin over them;
  correct when each slot is booked exactly once, with no 5xx and no overlap;
- bench.faults' "parallel" scenario: two dispatchers (what a second beat would run) and two
  Celery workers on one Redis broker, messages falling due while they run; correct when no
  message is lost or sent twice.

Prints both reports as they are; exits 1 if either run found a problem.
"""

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNS: tuple[tuple[str, ...], ...] = (
    ("bench.load_booking", "--servers", "2"),
    ("bench.faults", "--only", "parallel"),
)


def run(arguments: Sequence[str]) -> tuple[int, str]:
    """Exit status and standard output of `python -m ARGUMENTS` (progress goes to stderr)."""
    print(f"bench.scale_out: {' '.join(arguments)}", file=sys.stderr, flush=True)
    result = subprocess.run(  # noqa: S603 - this interpreter, our own modules
        [sys.executable, "-m", *arguments], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False
    )
    return result.returncode, result.stdout


def main() -> None:
    failed = False
    for arguments in RUNS:
        status, output = run(arguments)
        print(f"$ .venv/bin/python -m {' '.join(arguments)}\n{output.rstrip()}\n")
        failed = failed or status != 0
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
