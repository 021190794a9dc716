"""The API's JSON parser: DRF's, with nesting too deep to follow answered as bad input."""

from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class DepthSafeJSONParser(JSONParser):
    """DRF's JSON parser, except that a body nested deeper than Python's recursion limit
    (`"[" * 20000` fits well inside the 64 KiB body limit) is a 400 like any other
    malformed JSON. The standard library's decoder raises RecursionError there, which
    DRF does not catch: a 500. No request the API documents nests deeper than
    four levels, so the limit costs a legitimate client nothing."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
