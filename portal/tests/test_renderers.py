"""The API's JSON renderer (`portal.api.renderers`) writes exactly the bytes DRF's renderer writes, or fails as it
fails: orjson for plain data, DRF's own renderer for anything else."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers as drf

from portal.api import renderers
from portal.api.renderers import JSONRenderer

ODD_TEXT = ["", "plain", "ünïcødé ✓ 日本", "line\u2028break\u2029para", '\x00\x01\x1f\x7f"\\/\b\f\n\r\t', "\ud800"]


def _written(renderer: drf.BaseRenderer, data: object, media_type: str | None = None) -> tuple[str, object]:
    try:
        return "bytes", renderer.render(data, media_type, {})
    except Exception as error:  # the kind of failure is what is compared
        return "error", type(error)


def _same(data: object, media_type: str | None = None) -> bytes:
    ours, theirs = _written(JSONRenderer(), data, media_type), _written(drf.JSONRenderer(), data, media_type)
    assert ours == theirs, data
    return ours[1]  # type: ignore[return-value]


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**65)
    | st.integers(min_value=-(2**65), max_value=-(2**63) + 2)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(ODD_TEXT)
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(ODD_TEXT), children, max_size=5)
        | st.dictionaries(st.integers() | st.booleans() | st.none(), children, max_size=2)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(json_like)
def test_any_json_like_data_is_written_as_drf_writes_it(data):
    _same(data)


@pytest.mark.parametrize(
    "data",
    [
        {"ratio": 1e-05, "big": 1e16, "small": 3.2e-07},  # orjson writes these 0.00001, 1e16, 3.2e-7
        [0.1, 1.0, -0.0, 123456789012345678.0],
        {"nan": float("nan")},  # DRF refuses it (strict JSON); orjson would write null
        {"when": datetime(2026, 12, 5, 10, 30, 15, 250, tzinfo=UTC), "day": date(2026, 12, 5)},
        {"amount": Decimal("12.50"), "id": uuid.UUID(int=7)},
        {"text": mark_safe("<b>safe</b>"), "lazy": lazy(lambda: "later", str)()},
        OrderedDict([("b", 1), ("a", 2)]),
        {"huge": 2**64, "tiny": -(2**64)},
        {1: "int key", None: "none key"},
        {"set": {1}},
        ODD_TEXT,
        {"nested": [{"deep": [[[[["x", 1, None, True]]]]]}]},
    ],
)
def test_data_orjson_would_write_otherwise_is_written_as_drf_writes_it(data):
    _same(data)


def test_an_ordered_dict_moved_around_keeps_its_order():
    ordered = OrderedDict([("a", 1), ("b", 2), ("c", 3)])
    ordered.move_to_end("a")
    assert _same({"page": ordered}) == b'{"page":{"b":2,"c":3,"a":1}}'


def test_indented_output_is_drfs():
    data = {"results": [{"a": 1, "b": "ü"}]}
    assert _same(data, "application/json; indent=4").startswith(b'{\n    "results"')


def test_plain_data_never_reaches_drfs_renderer(monkeypatch):
    """The fast path is the one taken for plain data (and only for it)."""

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("DRF's renderer was asked")

    monkeypatch.setattr(drf.JSONRenderer, "render", refuse)
    data = {"count": 2, "results": [{"title": "a\u2028b", "tags": ("x", "y"), "due": None, "ok": True}]}
    assert (
        JSONRenderer().render(data)
        == b'{"count":2,"results":[{"title":"a\\u2028b","tags":["x","y"],"due":null,"ok":true}]}'
    )
    with pytest.raises(AssertionError, match="DRF's renderer was asked"):
        JSONRenderer().render({"ratio": 0.5})


def test_plain_means_only_strings_integers_booleans_none_and_containers():
    assert renderers._plain({"a": [1, "b", None, True, ("c", {"d": -5})]})
    assert not renderers._plain({"a": [1, 2.5]})
    assert not renderers._plain([mark_safe("x")])  # a subclass: left to DRF's renderer
    assert not renderers._plain({"a": OrderedDict()})
