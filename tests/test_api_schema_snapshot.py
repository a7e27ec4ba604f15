"""/api/schema/ is part of the contract: it changes only on purpose, together with docs/api/openapi.json.

After an intended API change, regenerate the copy and commit it with the change:
    .venv/bin/python manage.py spectacular --format openapi-json --file docs/api/openapi.json
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.json"


def _differences(expected: object, actual: object, path: str = "") -> list[str]:
    """Where two JSON documents differ, as JSON-pointer-like paths (the first few are enough to act on)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{path}/{key}: removed")
            elif key not in expected:
                out.append(f"{path}/{key}: added")
            else:
                out.extend(_differences(expected[key], actual[key], f"{path}/{key}"))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in _differences(e, a, f"{path}/{i}")
        ]
    return [] if expected == actual else [f"{path}: {expected!r} -> {actual!r}"[:300]]


@pytest.mark.django_db
def test_served_schema_matches_the_committed_copy(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    served = json.loads(response.content)
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    differences = _differences(committed, served)
    assert not differences, "The API schema changed:\n" + "\n".join(differences[:40])
