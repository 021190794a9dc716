"""What a log may say about a request's address: its path with every key taken out, and no
query string. Patient links (manage, booked, check-in, waitlist offer, unsubscribe), the
calendar feed and the password reset carry their key in the path, and the desk's searches
carry names, birth dates and phone numbers in the query; logs are kept longer and read by
more people than the links are meant for.

Used by gunicorn's access log (config/gunicorn.py) and by the app's own log lines about
requests (Django's "Not Found: /manage/…" and the like, through `RedactRequestPaths`).
`masked` is how logs and staff pages show an email address or phone number.
"""

import logging
import re
from urllib.parse import urlsplit

KEY = "[key]"
# The prefixes whose next path segment is a key. tests/ops/test_logs.py checks every URL
# pattern with a `token` or `uidb64` argument against this list.
_KEYED = re.compile(
    r"^(/(?:api/v1/)?(?:manage|booked|check-ins?|unsubscribe|waitlist/offer|feeds)/)[^/]*"
)
# The password reset's link is /accounts/reset/<uidb64>/<token>/, and Django moves it to
# /accounts/reset/<uidb64>/set-password/: everything after the prefix goes.
_RESET = re.compile(r"^(/accounts/reset/)(?!done/$).+")


def redact_path(target: str) -> str:
    """The path of `target` (a path, a path with a query, or an absolute URL) with every key
    replaced by [key] and the query string and fragment dropped."""
    path = urlsplit(target).path if "://" in target else target.split("?", 1)[0]
    path = path.split("#", 1)[0]
    return _RESET.sub(rf"\1{KEY}/", _KEYED.sub(rf"\1{KEY}", path))


class RedactRequestPaths(logging.Filter):
    """Redacts the paths Django's request loggers put in their arguments ("Not Found: %s",
    "Forbidden (%s): %s", "Internal Server Error: %s")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def masked(recipient: str) -> str:
    """A recipient as logs may show it: enough to tell apart, not to contact."""
    if "@" in recipient:
        name, _, domain = recipient.partition("@")
        return f"{name[:1]}***@{domain}"
    return f"***{recipient[-4:]}"
