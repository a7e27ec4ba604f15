"""JSON from outside (webhook bodies): malformed in any way, including nested past all reason, is a ValueError."""

from __future__ import annotations

import json
from typing import Any

# Deeper than any payload a real sender builds (Jira's issue documents nest a few dozen levels at most), and
# shallow enough for any code that walks the result recursively.
MAX_DEPTH = 100


class JsonTooDeep(ValueError):
    """Arrays and objects nested deeper than allowed."""


def json_loads_bounded(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads(raw)`, refusing nesting deeper than `max_depth` with a ValueError like any other malformed JSON.

    The standard parser meets 100,000 nested arrays with a RecursionError, which no `except ValueError` catches, so
    it became a 500; a document just under the parser's limit would break whatever walks it recursively later."""
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels.") from exc
    if _deeper_than(data, max_depth):
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels.")
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels in `data`; iterative, so any depth is safe."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
