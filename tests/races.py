"""Run calls at the same moment, each in its own thread and database connection, and prove
that they raced.

A race test whose calls happened to run one after the other passes without testing anything,
so `run_at_once` fails unless at least two calls were in flight together: the second began
before the first returned (it ran beside it, or waited on its lock).
"""

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


class _InFlight:
    """How many calls are running now, and the most that ever ran together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def run_at_once(calls: Sequence[Callable[[], T]], *, timeout: float = 120) -> list[T]:
    """Start every call together; return their results in the order they finished.

    Raises the first error a call raised, and fails if a thread is still running after
    `timeout` seconds or if no two calls were ever in flight together.
    """
    start = threading.Barrier(len(calls))
    in_flight = _InFlight()
    results: list[T] = []
    errors: list[BaseException] = []

    def racer(call: Callable[[], T]) -> None:
        try:
            start.wait(timeout=10)
            in_flight.enter()
            try:
                results.append(call())
            finally:
                in_flight.leave()
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    if errors:
        raise errors[0]
    assert in_flight.most >= 2, "the calls ran one after the other: nothing raced"
    return results
