"""A Celery task that does nothing: the baseline of `bench.dispatch`.

The benchmark's worker loads it with `--include bench.noop`, beside the project's tasks.
It carries the send task's options (late acks, requeue on a lost worker, no result), so
the two differ only in the work the task body does.
"""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def noop() -> None:
    """Nothing at all."""
