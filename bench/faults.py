"""Faults: how many messages are lost or duplicated when the outbox's processes fail.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic .venv/bin/python -m bench.faults

PostgreSQL only, with real Celery workers and real Redis servers. Each scenario gets its own
throwaway database (a clone, made with Django's test-database machinery), its own
`redis-server` on a free port that keeps nothing on disk (never the shared one: a scenario
kills it), its own sink folder (Django's file email backend, `FileSmsBackend`) and a short
reclaim timeout (`MESSAGE_SENDING_TIMEOUT_SECONDS`). It seeds `--messages` messages due now,
of every kind in turn (reminders and check-ins by email and SMS, booking confirmations with
their .ics, waitlist offers, red-flag alerts to staff: MIX), each about a visit, check-in,
offer or alert of its own, runs the processes below, injects its fault while they send, and
waits until every message is `sent` and the broker's queue is empty. Then it counts each
message's copies in the sinks (SMS file lines by idempotency key, email files by Message-ID):

- worker child killed: SIGKILL the worker's pool child three times while it sends
  (late acks and reject_on_worker_lost put its task back on the queue);
- worker killed: SIGKILL a whole worker (parent and child) while it sends, then start a new
  one (the dead worker's unacknowledged task waits in Redis; the dispatcher reclaims the row);
- Redis restarted: kill the broker with sends queued and start it again, empty;
- two dispatchers, two workers: everything at once, messages falling due while they run;
- PostgreSQL connections dropped: `pg_terminate_backend` on the workers' and the
  dispatcher's backends three times while they send.

The dispatcher runs as its own process (tests/faults/dispatcher.py): what beat's dispatcher
task does, every few tenths of a second. The harness lives in tests/faults/harness.py; the
tests in tests/faults run the same scenarios with fewer messages. Exits 1 if any message was
lost, or duplicated more often than processes were SIGKILLed: a process killed after the
provider took a message and before its `sent` was committed leaves that one message
`sending`, and it is sent again (the provider sees the same idempotency key twice). Nothing
else may send a message twice.
"""

import os

if __name__ == "__main__":  # the real settings, as the workers have them
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ["STATIC_MANIFEST"] = "false"
    import django

    django.setup()

import argparse
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from django.db import connection
from django.test.utils import setup_test_environment, teardown_test_environment

from tests.faults.harness import SCENARIOS, FaultError, Figures, Options, Scenario, run_scenario

# --- Report -----------------------------------------------------------------------------


def grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines: the first column left-aligned, figures right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "| " + " | ".join(cells) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(header), rule, *(line(row) for row in rows)]


def report(results: Sequence[Figures], options: Options) -> str:
    header = ["scenario", "expected", "sent", "in sinks", "lost", "duplicated", "SIGKILLs", "s"]
    rows = [
        [
            figures.scenario,
            f"{figures.expected:,}",
            f"{figures.sent:,}",
            f"{figures.delivered:,}",
            str(figures.lost),
            str(figures.duplicated),
            str(figures.sigkills),
            f"{figures.seconds:.0f}",
        ]
        for figures in results
    ]
    kinds = list(dict.fromkeys(what for figures in results for what in figures.by_kind))
    by_kind = [
        [
            figures.scenario,
            *(
                f"{k.expected} / {k.lost} / {k.duplicated}"
                for k in (figures.by_kind[what] for what in kinds)
            ),
        ]
        for figures in results
    ]
    lines = [
        f"{options.messages:,} messages due per scenario, of every kind in turn: "
        f"{', '.join(kinds)}; reclaim after {options.reclaim_seconds} s; dispatcher every "
        f"{options.dispatch_interval} s.",
        "",
        *grid(header, rows),
        "",
        "By kind and channel: expected / lost / duplicated",
        "",
        *grid(["scenario", *kinds], by_kind),
        "",
        f"Sink entries of no expected message: {sum(figures.unexpected for figures in results)}.",
        "",
        "What happened, in order:",
    ]
    lines += [f"- {figures.scenario}: {'; '.join(figures.events) or '-'}" for figures in results]
    return "\n".join(lines)


# --- Main -------------------------------------------------------------------------------


def run_all(options: Options, scenarios: Sequence[Scenario], folder: Path) -> list[Figures]:
    """Every scenario in a throwaway database of its own, cloned from a fresh one."""
    setup_test_environment()
    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"{name}_bench_faults"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        results = []
        for scenario in scenarios:
            print(f"  {scenario.name} …", file=sys.stderr, flush=True)
            results.append(run_scenario(scenario, options, folder))
        return results
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="due per scenario (300)")
    parser.add_argument("--reclaim", type=int, default=10, help="reclaim after seconds (10)")
    parser.add_argument("--interval", type=float, default=0.5, help="dispatcher period (0.5)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenario slugs: "
        + ", ".join(scenario.slug for scenario in SCENARIOS),
    )
    parser.add_argument(
        "--keep", type=Path, metavar="FOLDER", help="write logs and sinks here and keep them"
    )
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench.faults needs PostgreSQL: set DATABASE_URL=postgres://…")
    if arguments.reclaim < 4:
        parser.error("--reclaim must be at least 4 s: a send's provider timeout (1 s) x 3")
    chosen = [s for s in SCENARIOS if not arguments.only or s.slug in arguments.only.split(",")]
    options = Options(arguments.messages, arguments.reclaim, arguments.interval)
    # SIGTERM unwinds like Ctrl-C: the scenario's processes, Redis and databases go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench.faults: terminated"))
    try:
        if arguments.keep:
            results = run_all(options, chosen, arguments.keep)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-faults-") as scratch:
                results = run_all(options, chosen, Path(scratch))
    except FaultError as error:
        sys.exit(f"bench.faults: {error}")
    print(report(results, options))
    if not all(figures.correct for figures in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
