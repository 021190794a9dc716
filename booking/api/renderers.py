"""JSON rendered by orjson, for responses too large for the standard library's encoder."""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils import encoders


class OrjsonRenderer(JSONRenderer):
    """DRF's compact, UTF-8 `application/json`, encoded by orjson (C) instead of `json`.

    The bytes are those JSONRenderer writes for the same strings, numbers, lists and dicts,
    U+2028 and U+2029 escaped alike. The difference is datetimes: orjson writes them as
    `datetime.isoformat()` does, with their own UTC offset (`+00:00` for UTC) and any
    microseconds, where DRF's encoder writes UTC as `Z` and cuts to milliseconds. So a view
    can hand over aware datetimes instead of formatting each one in Python. Types orjson
    does not know (lazy strings, decimals, querysets) go through DRF's encoder. An `indent`
    asked for in the Accept header gives orjson's two-space indentation.
    """

    _fallback = encoders.JSONEncoder().default

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type or "", renderer_context or {})
        content = orjson.dumps(
            data, default=self._fallback, option=orjson.OPT_INDENT_2 if indent else 0
        )
        # As JSONRenderer does: JSON that is also a strict JavaScript subset.
        return content.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
