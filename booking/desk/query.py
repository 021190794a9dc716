"""Query strings of the desk's links."""

from urllib.parse import urlencode


def query_string(**params: object) -> str:
    """`params` as a query string, leaving out those with no value."""
    return urlencode({key: value for key, value in params.items() if value not in (None, "")})
