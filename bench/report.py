"""What the benchmarks share: how they print figures and read the CPU time of processes
(starting and stopping them is tests/processes.py's); no Django set-up."""

import os
from collections.abc import Sequence
from pathlib import Path

from tests.processes import proc_stat


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table under its title, figures right-aligned."""
    cells = [list(header)] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)) + " |"

    rule = "|" + "|".join("-" * (width + 1) + ":" for width in widths) + "|"
    return "\n".join([f"\n{title}\n", line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cpu(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds (user + system) of `pid`, or with `reaped` of its exited children."""
    fields = proc_stat(pid)
    first = 13 if reaped else 11  # cutime, cstime or utime, stime
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(proc_stat(int(entry.name))[1]) == parent:
                    pids.append(int(entry.name))
            except (OSError, IndexError):
                continue  # exited meanwhile
    return pids


class CpuMeter:
    """CPU seconds used so far by each process of a run, read from /proc: a Celery worker's
    parent and pool children, the PostgreSQL and Redis servers (all their processes, exited
    ones included; PostgreSQL's other clients too) and, if given, the publishing process.
    Only where the servers run on this machine: raises OSError otherwise."""

    def __init__(
        self, *, worker: int, postmaster: int, redis: int, publisher: int | None = None
    ) -> None:
        self.worker = worker
        self.postmaster = postmaster
        self.redis = redis
        self.publisher = publisher
        self.read()  # fails here, not mid-run, when the servers are elsewhere

    def read(self) -> dict[str, float]:
        pool = _children(self.worker)
        backends = _children(self.postmaster)
        seconds = {
            "worker parent": _cpu(self.worker),
            "worker children": sum(map(_cpu, pool)) + _cpu(self.worker, reaped=True),
        }
        if self.publisher is not None:
            seconds["publisher"] = _cpu(self.publisher)
        seconds["PostgreSQL"] = (
            _cpu(self.postmaster) + _cpu(self.postmaster, reaped=True) + sum(map(_cpu, backends))
        )
        seconds["Redis"] = _cpu(self.redis)
        return seconds

    def since(self, before: dict[str, float]) -> dict[str, float]:
        now = self.read()
        return {part: now[part] - before[part] for part in now}
