"""The README's "Run it" recipes, run as a newcomer runs them: `make run` on a fresh clone.

Each test clones this repository's HEAD (`git clone`: the committed files, nothing this
checkout made or ignores, no `var/`) into a temporary folder, runs `make run` there on a free
port, and waits until the web server answers, the worker and beat each answer a
remote-control ping addressed to them (as compose's healthchecks ask), and beat has written
its schedule file and had the dispatcher run through the worker (`/healthz/dispatcher`
turns 200). Then it stops the process group as Ctrl-C does and checks
every process has exited and the run left nothing git would see.

The virtualenv: `make run` depends on `.venv/.installed`, the Makefile's set-up path, which
would spend minutes on pip (and need PyPI) in every fresh clone. The clone's `.venv` is a
folder of links to the virtualenv running these tests (its `bin`, `lib`, `pyvenv.cfg`…) with
its own `.installed` stamp, newer than the clone's `requirements-dev.lock`: make finds the
dependencies installed, as on a newcomer's second run, and everything after that (migrate,
the demo clinic, honcho and the Procfile) runs unchanged from the clone. A real folder, not a
link to the whole virtualenv, so the stamp and make's timestamps stay the clone's own.

The environment is a newcomer's: PATH, HOME and the locale, plus `PORT` and what the recipe
sets (`DATABASE_URL`, `REDIS_URL`), nothing of the test suite's settings. One more variable,
`DISPATCH_INTERVAL_SECONDS=2`, makes beat's first dispatcher run come in seconds, not a
minute.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from django.conf import settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 300  # seconds: migrating and seeding a new SQLite database on a busy machine
STOP_TIMEOUT = 60


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """A clone of HEAD whose .venv links to the running virtualenv (see the module's doc)."""
    if sys.prefix == sys.base_prefix:
        pytest.fail("run the tests from the project's virtualenv (make test)")
    clone = tmp_path / "painclinic"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    venv = clone / ".venv"
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    stamp = venv / ".installed"
    stamp.touch()
    newer = (clone / "requirements-dev.lock").stat().st_mtime + 1
    os.utime(stamp, (newer, newer))
    return clone


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def newcomer_environment(**variables: str) -> dict[str, str]:
    kept = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {**kept, "DISPATCH_INTERVAL_SECONDS": "2", **variables}


class MakeRun:
    """`make run` in `clone`, its own process group, its output in a file."""

    def __init__(self, clone: Path, **variables: str):
        self.clone = clone
        self.port = free_port()
        self.environment = newcomer_environment(PORT=str(self.port), **variables)
        self.log = clone.parent / "make-run.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                ["make", "run"],
                cwd=clone,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str) -> int:
        """The status of GET `path`, 0 while nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status
        except URLError as error:
            return getattr(error, "code", 0)
        except OSError:
            return 0

    def answers_ping(self, node: str) -> bool:
        """`celery inspect ping` to one node, over the run's broker as make run's processes
        see it: the worker is celery@<host>, beat celerybeat@<host>."""
        destination = f"{node}@{socket.gethostname()}"
        ping = subprocess.run(
            [".venv/bin/celery", "-A", "config", "inspect", "ping", "-d", destination, "-t", "5"],
            cwd=self.clone,
            env={**self.environment, "DEBUG": "true"},  # as `make run` exports it
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return ping.returncode == 0 and "pong" in ping.stdout

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(
                    f"make run exited ({self.process.returncode}) before {what}:\n"
                    f"{self.output()[-6000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {START_TIMEOUT} s:\n{self.output()[-6000:]}")
            time.sleep(1)

    def stop(self) -> None:
        """Ctrl-C: SIGINT to the whole process group, then every process must be gone."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while group_alive(self.process.pid) and time.monotonic() < deadline:
            self.process.poll()
            time.sleep(0.5)
        if group_alive(self.process.pid):
            os.killpg(self.process.pid, signal.SIGKILL)
            pytest.fail(f"make run's processes outlived Ctrl-C by {STOP_TIMEOUT} s")


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def make_run() -> Iterator[Callable[..., MakeRun]]:
    runs: list[MakeRun] = []

    def start(clone: Path, **variables: str) -> MakeRun:
        runs.append(MakeRun(clone, **variables))
        return runs[-1]

    yield start
    for run in runs:
        if group_alive(run.process.pid):
            os.killpg(run.process.pid, signal.SIGKILL)


def assert_the_whole_product_runs_then_stops(run: MakeRun) -> None:
    run.wait_for("web server", lambda: run.get("/healthz") == 200)
    assert run.get("/") == 200
    run.wait_for("worker's pong", lambda: run.answers_ping("celery"))
    run.wait_for("beat's pong", lambda: run.answers_ping("celerybeat"))
    run.wait_for("beat's schedule file", lambda: any(run.clone.glob("var/celerybeat-schedule*")))
    run.wait_for("dispatcher run", lambda: run.get("/healthz/dispatcher") == 200)
    run.stop()
    left = subprocess.run(
        ["git", "status", "--porcelain"], cwd=run.clone, capture_output=True, text=True, check=True
    ).stdout
    assert left == "", f"make run wrote outside ignored folders:\n{left}"


def test_make_run_on_the_embedded_default(fresh_clone, make_run):
    run = make_run(fresh_clone)
    assert_the_whole_product_runs_then_stops(run)
    assert (fresh_clone / "var" / "db.sqlite3").exists()
    # kombu's file broker keeps its broadcast tables (remote control) under var/ too.
    assert any((fresh_clone / "var" / "broker-control").iterdir())
    assert not (fresh_clone / "control").exists()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the suite's server (as `createdb` makes), its URL."""
    server = settings.DATABASES["default"]
    name = f"recipe_{uuid.uuid4().hex[:12]}"
    credentials = {
        "host": server["HOST"],
        "port": server["PORT"] or 5432,
        "user": server["USER"],
        "password": server["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **credentials) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    yield f"postgres://{server['USER']}{password}@{server['HOST']}:{credentials['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **credentials) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def spare_redis() -> Iterator[str]:
    """The suite's Redis server, on an empty database number other than the suite's."""
    suite = urlsplit(settings.REDIS_URL)
    suite_database = int(suite.path.strip("/") or 0)
    for number in range(15, 0, -1):
        url = urlunsplit(suite._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        if number != suite_database and client.dbsize() == 0:
            break
    else:
        pytest.fail("no empty Redis database to run the recipe on")
    yield url
    client.flushdb()


@pytest.mark.postgres
@pytest.mark.redis
def test_make_run_on_postgres_and_redis(fresh_clone, make_run, fresh_database, spare_redis):
    run = make_run(fresh_clone, DATABASE_URL=fresh_database, REDIS_URL=spare_redis)
    assert_the_whole_product_runs_then_stops(run)
    assert not (fresh_clone / "var" / "db.sqlite3").exists()
