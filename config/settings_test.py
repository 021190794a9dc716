"""Settings for the test suite: the production settings with a test key and fast hashing.

DATABASE_URL and REDIS_URL are honoured as usual, so the suite runs on PostgreSQL and
Redis when they are set (as in CI) and on SQLite and the filesystem broker otherwise.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("STATIC_MANIFEST", "false")  # the manifest needs collectstatic
# Production settings otherwise, on SQLite and the filesystem broker unless the URLs are set;
# the test client and the browser journeys speak plain HTTP.
os.environ.setdefault("EMBEDDED_SERVICES", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Tests move their clock by hours and days between the requests of one logged-in client;
# the idle logoff's own tests (tests/config/test_idle_logoff.py) use the production default.
os.environ.setdefault("STAFF_IDLE_MINUTES", str(60 * 24 * 365))

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"
# Tasks queued by on_commit run in the test's process; the real-worker tests override this.
CELERY_TASK_ALWAYS_EAGER = True
# Serve static files from the finders, as in development, so no collectstatic is needed.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Tests clear the cache between them (throttle counters); with the Redis cache that would
# flush the broker's database too, so the suite keeps its cache in memory.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A file, not SQLite's shared in-memory database, so threads in the concurrency tests get
# real connections with the same locking as the running product; one per test run.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")  # noqa: F405
    }
CALENDAR_UID_DOMAIN = "testserver"
