"""Starting and stopping the servers and workers a test or a benchmark runs as processes of
its own."""

import socket
import subprocess
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on, for a server the caller starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM (a warm shutdown for Celery and gunicorn), then SIGKILL after `grace` s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state is [0], ppid [1])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def parent_pid(pid: int) -> int:
    return int(proc_stat(pid)[1])
