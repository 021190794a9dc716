"""The project's settings plus one change proposed in docs/performance.md, for measuring it:

    .venv/bin/python -m bench.dispatch --worker-settings bench.worker_settings_db_reuse

Celery (5.7, since celery/celery#9824) closes every database connection after each task
whatever CONN_MAX_AGE says, so each send opens a new PostgreSQL connection. CELERY_DB_REUSE_MAX
makes Celery's Django fixup close them only every that many tasks.
"""

from config.settings import *  # noqa: F403

CELERY_DB_REUSE_MAX = 1000
