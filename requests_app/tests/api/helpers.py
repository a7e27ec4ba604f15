"""Small helpers shared by the API tests."""

from __future__ import annotations

from typing import Any


def error_of(response: Any) -> dict:
    """The error object of a 4xx answer, after checking it has the one shape every error has."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"]), body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]


def detail_url(reference: str) -> str:
    return f"/api/v1/requests/{reference}/"


def transition_url(reference: str, name: str) -> str:
    return f"/api/v1/requests/{reference}/transitions/{name}/"


LIST_URL = "/api/v1/requests/"
