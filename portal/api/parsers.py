"""The only request body the API reads: JSON, and no body however malformed turns into a 500."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class PortalJSONParser(JSONParser):
    """DRF's JSON parser plus the two malformed inputs it lets through: runaway nesting and lone surrogates."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        try:
            # "\ud800" is valid JSON but not valid UTF-8; PostgreSQL would refuse it deep inside a save.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParseError("JSON parse error - a string holds an unpaired surrogate (not valid Unicode).") from exc
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        return data
