"""The error vocabulary itself."""

from __future__ import annotations

import pytest

from integrations.errors import (
    ErrorKind,
    IntegrationError,
    TransientIntegrationError,
    integration_error,
    kind_for_status,
    redact,
)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ErrorKind.INVALID),
        (401, ErrorKind.UNAUTHORISED),
        (403, ErrorKind.UNAUTHORISED),
        (404, ErrorKind.NOT_FOUND),
        (409, ErrorKind.CONFLICT),
        (422, ErrorKind.INVALID),
        (429, ErrorKind.UNAVAILABLE),
        (500, ErrorKind.UNAVAILABLE),
        (503, ErrorKind.UNAVAILABLE),
        (None, ErrorKind.INVALID),
    ],
)
def test_kind_for_status(status, kind):
    assert kind_for_status(status) is kind


def test_only_unavailable_builds_the_transient_class():
    transient = integration_error("gitlab", ErrorKind.UNAVAILABLE, action="reading pipeline 5", status=502)
    final = integration_error("gitlab", ErrorKind.CONFLICT, action="adding a member", status=409)

    assert isinstance(transient, TransientIntegrationError) and transient.transient
    assert type(final) is IntegrationError and not final.transient


def test_message_is_plain_words_with_status_and_action():
    error = integration_error("kubernetes", ErrorKind.NOT_FOUND, action="reading namespace 'x'", status=404)

    assert error.message == "Kubernetes could not find what was asked for [HTTP 404] while reading namespace 'x'."
    assert error.as_dict() == {
        "system": "kubernetes",
        "kind": "not_found",
        "status": 404,
        "message": error.message,
        "transient": False,
    }


def test_detail_is_flattened_trimmed_and_redacted():
    detail = "line one\n\tline two with s3cret-token " + "x" * 1000
    error = integration_error("jira", ErrorKind.INVALID, action="creating", detail=detail, secrets=("s3cret-token",))

    assert "\n" not in error.message and "s3cret-token" not in error.message and "***" in error.message
    assert len(error.message) < 400


def test_redact_skips_empty_and_very_short_values():
    assert redact("a token abc and more", ["", None, "abc"]) == "a token abc and more"
    assert redact("value=longsecret", ["longsecret"]) == "value=***"


def test_repr_has_no_message_text():
    error = IntegrationError("jira", "unauthorised", "message with details", 401)

    assert repr(error) == "IntegrationError(system='jira', kind='unauthorised', status=401)"
