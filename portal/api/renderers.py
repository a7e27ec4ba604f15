"""The API's JSON renderer: DRF's, writing plain data through orjson.

DRF's renderer (`json.dumps` with DRF's encoder) took ~0.4 ms of CPU to write an API list of 50 requests (65 KB);
orjson writes the same bytes in ~0.03 ms. The two agree byte for byte on strings (once U+2028 and U+2029 are
escaped, as DRF escapes them), integers, booleans, None, and dicts, lists and tuples of them, and differ on floats
(`1e-05` against `1e-5`), on types DRF's encoder converts (datetimes, decimals, lazy strings) and on an ordered
dict's order: data holding anything but the former (`_plain`) is written by DRF's renderer, as before.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils import encoders


def _plain(value: Any) -> bool:
    """Whether `value` holds only strings, integers (no enum), booleans, None, dicts and lists or tuples of them:
    what orjson writes as `json.dumps` does."""
    kind = type(value)
    if kind is dict:
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return kind is str or kind is int or kind is bool or value is None
    for item in items:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if not _plain(item):
            return False
    return True


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSONRenderer; compact plain data (`_plain`) is written by orjson, the same bytes in a tenth of the time."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if (
            data is not None
            and self.compact
            and not self.ensure_ascii
            and self.encoder_class is encoders.JSONEncoder
            and self.get_indent(accepted_media_type or "", renderer_context or {}) is None
            and _plain(data)
        ):
            try:
                written = orjson.dumps(data)
            except TypeError:  # orjson.JSONEncodeError: a key that is not a string, an integer past 64 bits, …
                pass
            else:
                # DRF escapes these two so the output is also valid JavaScript; orjson writes them as UTF-8.
                return written.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return super().render(data, accepted_media_type, renderer_context)
