"""What beat's dispatcher task does, every SECONDS until SIGTERM, as a process of its own:

    python -m tests.faults.dispatcher SECONDS

The fault harness starts it with the real settings in its environment (`process_env`).
"""

import signal
import sys
import threading

import django

django.setup()

from django.db import close_old_connections  # noqa: E402

from followup.tasks import dispatch_and_enqueue_sends  # noqa: E402


def dispatch_forever(interval: float) -> None:
    """What beat's dispatcher task does, every `interval` seconds until SIGTERM. A run that
    fails (broker or database gone) is just followed by the next, as with beat."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.is_set():
        close_old_connections()  # as the worker's task_prerun does before each task
        try:
            claimed = dispatch_and_enqueue_sends()
        except Exception as error:  # any failure ends this run only, as with beat
            print(f"dispatcher run failed: {error!r}", file=sys.stderr, flush=True)
        else:
            if claimed:
                print(f"dispatcher claimed {claimed}", file=sys.stderr, flush=True)
        stopping.wait(interval)


if __name__ == "__main__":
    dispatch_forever(float(sys.argv[1]))
