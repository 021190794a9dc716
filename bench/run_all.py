"""Run every benchmark and rewrite its figures in docs/performance.md (`make bench`).

    .venv/bin/python -m bench.run_all                     # every benchmark
    .venv/bin/python -m bench.run_all --only trends,faults

Each benchmark's figures live in docs/performance.md between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`: the date, the machine and the software versions it ran on, then a
copy of what its command printed. This script replaces only those blocks, so the written
analysis around them stays as it is. A benchmark that fails keeps its previous figures and
makes the script exit non-zero.

PostgreSQL and Redis are needed (DATABASE_URL, REDIS_URL); every benchmark creates and drops
its own database, so the developer's data is never touched.
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"


@dataclass(frozen=True)
class Benchmark:
    block: str
    module: str
    arguments: tuple[str, ...] = ()
    # Environment overrides; an empty value removes the variable (SQLite runs).
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.arguments]

    @property
    def shell_command(self) -> str:
        """The command as docs/performance.md shows it (SQLite runs unset DATABASE_URL)."""
        database = "" if self.environment.get("DATABASE_URL") == "" else "DATABASE_URL=… "
        return " ".join([f"{database}.venv/bin/python -m {self.module}", *self.arguments])


SQLITE = {"DATABASE_URL": ""}

BENCHMARKS = (
    Benchmark("availability", "bench.availability"),
    Benchmark("availability-sqlite", "bench.availability", environment=SQLITE),
    Benchmark("day_view", "bench.day_view"),
    Benchmark("day_view-sqlite", "bench.day_view", environment=SQLITE),
    Benchmark("page_weight", "bench.page_weight"),
    Benchmark("trends", "bench.trends"),
    Benchmark("load_booking", "bench.load_booking"),
    Benchmark("dispatch", "bench.dispatch"),
    Benchmark("burst", "bench.burst"),
    Benchmark("faults", "bench.faults"),
    Benchmark("scale_out", "bench.scale_out"),
)


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- bench:{re.escape(name)} -->\n).*?(<!-- /bench:{re.escape(name)} -->)", re.S
    )


def replace_block(document: str, name: str, body: str) -> str:
    """The document with the block NAME's contents replaced by BODY."""
    pattern = block_pattern(name)
    if not pattern.search(document):
        raise KeyError(f"docs/performance.md has no <!-- bench:{name} --> block")
    return pattern.sub(
        lambda match: match[1] + body.rstrip("\n") + "\n" + match[2], document, count=1
    )


def fenced(text: str) -> str:
    return f"```text\n{text.rstrip()}\n```"


def _version(command: Sequence[str]) -> str:
    try:
        result = subprocess.run(  # noqa: S603 - fixed tool names, our own arguments
            command, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return "not found"
    return (
        (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else "?"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def database_description(benchmark: Benchmark) -> str:
    if benchmark.environment.get("DATABASE_URL") == "":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    # The server's own maintenance database: the one named in the URL may not exist yet.
    server = urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
    return f"PostgreSQL {_version(['psql', server, '-Atc', 'SHOW server_version'])}"


def stamp(benchmark: Benchmark) -> str:
    """The command, date, machine and software a benchmark's figures come from."""
    import celery
    import django

    redis = _version(["redis-server", "--version"]).split(" sha=")[0]
    return "\n".join(
        [
            f"$ {benchmark.shell_command}",
            f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"machine: {platform.machine()}, {os.cpu_count()} cores ({_cpu_model()}),"
            f" load average at start {os.getloadavg()[0]:.1f}",
            f"software: Python {platform.python_version()}, Django {django.__version__},"
            f" Celery {celery.__version__}, {database_description(benchmark)}, {redis}",
            "",
        ]
    )


def run(benchmark: Benchmark) -> str | None:
    """The benchmark's standard output, or None (with its error shown) when it failed."""
    environment = {**os.environ, **benchmark.environment}
    for name, value in benchmark.environment.items():
        if not value:
            environment.pop(name)
    print(f"== {benchmark.block}: {' '.join(benchmark.command[1:])}", file=sys.stderr, flush=True)
    started = time.monotonic()
    # stderr (progress) goes straight to the terminal; stdout holds the figures.
    result = subprocess.run(  # noqa: S603 - this interpreter, our own modules
        benchmark.command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True, check=False
    )
    elapsed = time.monotonic() - started
    print(result.stdout, file=sys.stderr)
    if result.returncode != 0:
        print(f"!! {benchmark.block} failed (exit {result.returncode})", file=sys.stderr)
        return None
    print(f"== {benchmark.block} took {elapsed / 60:.1f} min", file=sys.stderr)
    return result.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    names = [benchmark.block for benchmark in BENCHMARKS]
    parser.add_argument("--only", help=f"comma-separated blocks among {', '.join(names)}")
    options = parser.parse_args(argv)
    chosen = set(options.only.split(",")) if options.only else set(names)
    if unknown := chosen - set(names):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL server (and REDIS_URL): see docs")

    document = PERFORMANCE_DOC.read_text()
    failed = []
    for benchmark in BENCHMARKS:
        if benchmark.block not in chosen:
            continue
        header = stamp(benchmark)
        output = run(benchmark)
        if output is None:
            failed.append(benchmark.block)
            continue
        document = replace_block(document, benchmark.block, fenced(header + output))
        # Written after each benchmark, so an interrupted run keeps what it measured.
        PERFORMANCE_DOC.write_text(document)
    PERFORMANCE_DOC.write_text(document)
    if failed:
        print(f"failed: {', '.join(failed)} (their previous figures were kept)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
