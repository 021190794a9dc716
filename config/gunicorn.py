"""gunicorn's settings for the web process: `gunicorn config.wsgi:application -c
python:config.gunicorn` (Dockerfile, docker-compose.yml).

The access log writes one line per request to standard output, with the path's keys
redacted and no query string, referrer or cookie (config/logs.py says why).
"""

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from gunicorn.glogging import Logger

from config.logs import redact_path

accesslog = "-"
# Apache's combined format, with the request id the app's log lines carry and the time taken.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s %(M)sms'
)

# Header, environment and response-header atoms a format may name; any other (cookies,
# Authorization, Location of a redirect to a patient link, the raw URI) logs as "-".
SAFE_HEADER_ATOMS = frozenset(
    {"{user-agent}i", "{x-forwarded-for}i", "{x-forwarded-proto}i", "{x-request-id}o"}
)


class RedactingLogger(Logger):
    """gunicorn's logger, with every atom that can hold a key or a search term redacted."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: timedelta) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("RAW_URI") or environ.get("PATH_INFO") or "")
        referrer = environ.get("HTTP_REFERER")
        kept = {
            name: value
            for name, value in atoms.items()
            if not name.startswith("{") or name in SAFE_HEADER_ATOMS
        }
        return kept | {
            "r": f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']}",
            "U": path,
            "q": "",
            "f": _redacted_referrer(referrer) if referrer else "-",
        }


def _redacted_referrer(referrer: str) -> str:
    parts = urlsplit(referrer)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return origin + redact_path(parts.path or "/")


logger_class = RedactingLogger
