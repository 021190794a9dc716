"""Settings, read from the environment (12-factor).

With DEBUG=true (as `make run` sets it) the project runs on embedded defaults: SQLite and
kombu's filesystem broker; `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis.
With DEBUG off it is in production: secure defaults, and start-up fails, naming the
variable, when a secret or a service is missing. Every variable is listed in the README.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
# The app's own files on a laptop (SQLite, the file broker, beat's schedule): made here, so a
# fresh clone runs whichever database and broker it is given.
VAR_DIR = env.local_folder(BASE_DIR / "var")


def _get(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in _get(name, default).split(",") if item.strip()]


def _integer(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A count, limit or duration: a typo stops the start-up naming the variable."""
    return env.integer(name, _get(name, str(default)), minimum=minimum, maximum=maximum)


DEBUG = env.boolean("DEBUG", _get("DEBUG", "false"))
# With DEBUG off the secrets and services must come from the environment; this lets the
# test suite (and a one-machine trial) run on SQLite and the filesystem broker anyway.
EMBEDDED_SERVICES = env.boolean("EMBEDDED_SERVICES", _get("EMBEDDED_SERVICES", "false"))


def _production_value(name: str) -> str:
    """A variable that production must set: required when DEBUG is off."""
    return _get(name) if DEBUG else env.required(name, _get(name))


SECRET_KEY = _production_value("SECRET_KEY") or "django-insecure-local-development-only"
# Older keys that still verify signatures (links in emails, sessions) while a new key
# takes over; see docs/operations.md, "Rotating the signing key".
SECRET_KEY_FALLBACKS = _list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = _list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS")

CLINIC_NAME = _get("CLINIC_NAME", "Riverside Pain Clinic")
WAITLIST_OFFERS_PER_SLOT = _integer("WAITLIST_OFFERS_PER_SLOT", 3)
WAITLIST_HOLD_MINUTES = _integer("WAITLIST_HOLD_MINUTES", 120)
# Future online bookings one person may hold per site (0: no limit).
ONLINE_BOOKINGS_PER_SITE = _integer("ONLINE_BOOKINGS_PER_SITE", 2, minimum=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "axes",
    "csp",
    "django_guid",
    "booking",
    "followup",
]

MIDDLEWARE = [
    # First, so every log line of the request carries its id.
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files keep their long caching and nothing else is cached.
    "config.middleware.no_store",
    "booking.middleware.api_body_size_limit",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After sessions, users and messages: the logoff says why on the login page, and the
    # 400 page for a hostile query string is the site's page with its header.
    "config.middleware.idle_logoff",
    "config.middleware.refuse_hostile_query_strings",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks, so it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "booking.context_processors.clinic",
            ],
            "builtins": ["booking.templatetags.clinic_formats"],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASE_URL = (
    _get("DATABASE_URL") if EMBEDDED_SERVICES else _production_value("DATABASE_URL")
) or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and cache ----------------------------------------------
_redis_url = _get("REDIS_URL") if EMBEDDED_SERVICES else _production_value("REDIS_URL")
REDIS_URL = env.redis_url(_redis_url) if _redis_url else ""
# Redis hands a task a worker took but never acknowledged to another worker after this long,
# so it must outlast every wait before a retry (config.celery's system check): a task
# waiting longer would run twice.
BROKER_VISIBILITY_TIMEOUT = _integer("BROKER_VISIBILITY_TIMEOUT_SECONDS", 3600)

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = env.filesystem_broker_options(VAR_DIR)
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# What a task prints stays on the worker's standard output instead of becoming log records
# (Celery's default): the console email and SMS backends print whole messages, with names
# and numbers, which the log must never carry.
CELERY_WORKER_REDIRECT_STDOUTS = False
# The outcomes dashboard's read model is rebuilt this often; the page warns past twice it.
OUTCOME_REFRESH_MINUTES = _integer("OUTCOME_REFRESH_MINUTES", 5)
# Beat's schedule file: when each entry last ran.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat answers `celery inspect ping -d celerybeat@<host>` while its scheduler ticks, and falls
# silent when it stalls: its healthcheck (docker-compose.yml).
CELERY_BEAT_ENABLE_REMOTE_CONTROL = True
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-messages": {
        "task": "followup.tasks.dispatch_due_messages_task",
        # Every message waits for a tick: a booking's confirmation, an offer, an alert, and
        # a burst of check-ins due at 10:00 (docs/performance.md, "Burst"). A tick that
        # finds nothing due reads two small partial indexes.
        "schedule": _integer("DISPATCH_INTERVAL_SECONDS", 15),
    },
    "expire-waitlist-offers": {
        "task": "booking.tasks.expire_waitlist_offers_task",
        "schedule": _integer("WAITLIST_EXPIRY_INTERVAL_SECONDS", 300),
    },
    "refresh-outcome-facts": {
        "task": "followup.tasks.refresh_outcome_facts_task",
        "schedule": 60.0 * OUTCOME_REFRESH_MINUTES,
    },
    # Patients' sessions (booking drafts) last an hour: gone from the database within two.
    "clear-expired-sessions": {
        "task": "booking.tasks.clear_expired_sessions_task",
        "schedule": _integer("CLEAR_SESSIONS_INTERVAL_SECONDS", 3600),
    },
}
# Pool processes per worker. A send mostly waits, on PostgreSQL and then on the provider
# (SMTP or Twilio), so a worker runs more children than cores, or the cores sit idle
# (docs/performance.md).
CELERY_WORKER_CONCURRENCY = _integer("WORKER_CONCURRENCY", 8)
# Prefetch one task at a time with late acks, so a worker that dies loses at most the
# message it was sending, and that one is redelivered.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes a worker's database connection after every task unless told to reuse it,
# and opening one per message is a large part of a send (docs/performance.md).
CELERY_DB_REUSE_MAX = _integer("CELERY_DB_REUSE_MAX", 1000, minimum=0)

# --- Message outbox ---------------------------------------------------------------------
DISPATCH_BATCH_SIZE = _integer("DISPATCH_BATCH_SIZE", 500)
DISPATCH_MAX_PER_RUN = _integer("DISPATCH_MAX_PER_RUN", 50000)
MESSAGE_SENDING_TIMEOUT = _integer("MESSAGE_SENDING_TIMEOUT_SECONDS", 600)
MESSAGE_MAX_ATTEMPTS = _integer("MESSAGE_MAX_ATTEMPTS", 5)
# How long a send waits on the SMTP server or Twilio. A send still waiting when its row is
# reclaimed would go out twice, and an email may try a second connection: hence the limit.
PROVIDER_TIMEOUT = _integer("PROVIDER_TIMEOUT_SECONDS", 30)
if not 0 < PROVIDER_TIMEOUT * 3 < MESSAGE_SENDING_TIMEOUT:
    raise ImproperlyConfigured(
        "PROVIDER_TIMEOUT_SECONDS must be above 0 and under a third of "
        "MESSAGE_SENDING_TIMEOUT_SECONDS, or a send still waiting on its provider is sent again."
    )
DISPATCHER_STALE_AFTER = _integer("DISPATCHER_STALE_AFTER_SECONDS", 300)
SMS_BACKEND = _get("SMS_BACKEND", "followup.channels.ConsoleSmsBackend")
SMS_FILE_PATH = _get("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms" / "sent.jsonl"))
SMS_MAX_PER_DAY = _integer("SMS_MAX_PER_DAY", 1, minimum=0)
SMS_MAX_PER_WEEK = _integer("SMS_MAX_PER_WEEK", 3, minimum=0)
# --- Follow-up after a procedure ---------------------------------------------------------
CHECK_IN_HOUR = _integer("CHECK_IN_HOUR", 10, minimum=0, maximum=23)  # local time at the location
CHECK_IN_REMINDER_AFTER_HOURS = _integer("CHECK_IN_REMINDER_AFTER_HOURS", 24)
CHECK_IN_EXPIRES_AFTER_HOURS = _integer("CHECK_IN_EXPIRES_AFTER_HOURS", 72)
CHECK_IN_LATE_GRACE_HOURS = _integer("CHECK_IN_LATE_GRACE_HOURS", 72, minimum=0)
CHECK_IN_EDIT_WINDOW_HOURS = _integer("CHECK_IN_EDIT_WINDOW_HOURS", 24, minimum=0)
CLINIC_ALERT_EMAIL = _get("CLINIC_ALERT_EMAIL", "alerts@localhost")
# A red-flag alert no one acknowledged goes to its location's on-call contact this long after
# it was raised in clinic hours (at once after hours), then again every ALERT_REPEAT_MINUTES
# until someone acknowledges it (followup.alerts).
ALERT_ESCALATE_AFTER_MINUTES = _integer("ALERT_ESCALATE_AFTER_MINUTES", 30, minimum=0)
ALERT_REPEAT_MINUTES = _integer("ALERT_REPEAT_MINUTES", 30)
_twilio_chosen = SMS_BACKEND == "followup.channels.TwilioSmsBackend"
TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER = (
    _production_value(name) if _twilio_chosen else _get(name)
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
)

# --- Time -------------------------------------------------------------------------
USE_TZ = True
TIME_ZONE = env.time_zone(_get("TIME_ZONE", "America/New_York"))
LANGUAGE_CODE = "en-us"
USE_I18N = True

# --- Auth ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: Django's hook on every password change, which revokes the API token.
    {"NAME": "booking.api.tokens.RevokeApiTokensOnPasswordChange"},
]
CSRF_FAILURE_VIEW = "booking.views.pages.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Password reset emails per address (whoever asks) and requests per client address
# (booking.views.password_reset); `0` turns one off.
PASSWORD_RESET_ADDRESS_RATE = env.throttle_rate(
    "PASSWORD_RESET_ADDRESS_RATE", _get("PASSWORD_RESET_ADDRESS_RATE", "3/hour")
)
PASSWORD_RESET_CLIENT_RATE = env.throttle_rate(
    "PASSWORD_RESET_CLIENT_RATE", _get("PASSWORD_RESET_CLIENT_RATE", "10/hour")
)
# A signed-in user idle this long is logged out at their next request (config.middleware).
STAFF_IDLE_MINUTES = _integer("STAFF_IDLE_MINUTES", 30)

AXES_FAILURE_LIMIT = _integer("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_integer("AXES_COOLOFF_MINUTES", 30))
# Lock a username from one address, not the whole front desk behind one NAT address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front of the app that append the client's address to X-Forwarded-For.
# Login lockouts and API rate limits count the address the outermost trusted proxy saw
# (the header's n-th entry from the right); with 0, REMOTE_ADDR alone, so the header
# cannot be spoofed. django-axes and DRF read the client address the same way.
TRUSTED_PROXY_COUNT = _integer("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "booking.client_address.client_address"

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The token first: DRF names the first class's scheme in WWW-Authenticate, so a call
    # without valid credentials is 401 with `WWW-Authenticate: Token` (the session's has
    # none, which made it 403). A logged-in browser's session works as before.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "booking.api.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON, forms and multipart as DRF's defaults, JSON nested too deeply refused with 400.
    "DEFAULT_PARSER_CLASSES": [
        "booking.api.parsers.DepthSafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "booking.api.schema.ClinicAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "token": env.throttle_rate("TOKEN_RATE", _get("TOKEN_RATE", "10/min")),
        "public": env.throttle_rate("PUBLIC_API_RATE", _get("PUBLIC_API_RATE", "30/min")),
        # Appointment emails to one address (booking.rates), so no form floods an inbox.
        "appointment_email": env.throttle_rate(
            "APPOINTMENT_EMAIL_RATE", _get("APPOINTMENT_EMAIL_RATE", "5/day")
        ),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
# A staff API token works this long after it was issued; a password change revokes it.
API_TOKEN_HOURS = _integer("API_TOKEN_HOURS", 8)
# Largest request body the API reads; a larger one is refused with 413.
API_MAX_BODY_BYTES = 64 * 1024
PHONENUMBER_DEFAULT_REGION = _get("PHONE_REGION", "US")
SPECTACULAR_SETTINGS = {
    "TITLE": f"{CLINIC_NAME} API",
    "DESCRIPTION": "Book injection consults by site, and manage the clinic's calendars.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or not env.boolean("STATIC_MANIFEST", _get("STATIC_MANIFEST", "true"))
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email ------------------------------------------------------------------------------
EMAIL_BACKEND = _get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = _get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "email"))
EMAIL_HOST = _get("EMAIL_HOST", "localhost")
EMAIL_PORT = _integer("EMAIL_PORT", 25, maximum=65535)
EMAIL_HOST_USER = _get("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = _get("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", _get("EMAIL_USE_TLS", "false"))
EMAIL_TIMEOUT = PROVIDER_TIMEOUT
DEFAULT_FROM_EMAIL = _get("DEFAULT_FROM_EMAIL", "clinic@localhost")

# Where patients reach the product: links in emails and messages are built from it.
SITE_URL = _get("SITE_URL", "http://localhost:8000")
CALENDAR_UID_DOMAIN = urlsplit(SITE_URL).hostname or "localhost"

# --- Security (production: on unless DEBUG; each can be overridden) -------------------------
_PRODUCTION = "false" if DEBUG else "true"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.boolean(
    "SESSION_COOKIE_SECURE", _get("SESSION_COOKIE_SECURE", _PRODUCTION)
)
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", _get("CSRF_COOKIE_SECURE", _PRODUCTION))
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: forms carry the token, and the API docs page gets it
# from the server-rendered script.
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", _get("SECURE_SSL_REDIRECT", _PRODUCTION))
# Probed over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/dispatcher$"]
SECURE_HSTS_SECONDS = _integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", _get("SECURE_HSTS_INCLUDE_SUBDOMAINS", _PRODUCTION)
)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", _get("SECURE_HSTS_PRELOAD", "false"))
# Anyone may submit a domain whose header asks for preloading, and leaving the browsers'
# list takes months: preloading is the domain owner's opt-in, so Django's reminder to
# turn it on (security.W021) is silenced until SECURE_HSTS_PRELOAD=true.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Pages load scripts, styles and images from this origin only, with nothing inline
# (docs/operations.md, "Content Security Policy").
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
ADMIN_URL = env.url_prefix("ADMIN_URL", _get("ADMIN_URL", "admin/"))

# --- Logs: one line per event, tagged with the request id; never a patient's details -----
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,  # an incoming id is kept only if it is a UUID; else a new one
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
    "INTEGRATIONS": [CeleryIntegration()],  # tasks carry the id of the request that queued them
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId"},
        # "Not Found: /manage/<key>/" would keep a patient's link in the log.
        "redact_paths": {"()": "config.logs.RedactRequestPaths"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "redact_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": _get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django_guid": {"level": "WARNING"},  # not a line per request about its id
    },
}
