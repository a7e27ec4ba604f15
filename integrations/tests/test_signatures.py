"""Jira's X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from integrations.signatures import sign, verify_hub_signature

SECRET = "whsec-jira-punjab"
BODY = b'{"webhookEvent":"jira:issue_updated","timestamp":1767605400000}'


def test_sign_matches_an_independent_hmac():
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()

    assert sign(SECRET, BODY) == f"sha256={expected}"


def test_good_signature_verifies():
    assert verify_hub_signature(SECRET, BODY, sign(SECRET, BODY))
    assert verify_hub_signature(SECRET.encode(), BODY, sign(SECRET, BODY))


def test_uppercase_hex_and_algorithm_are_accepted():
    algorithm, _, digest = sign(SECRET, BODY).partition("=")

    assert verify_hub_signature(SECRET, BODY, f"{algorithm.upper()}={digest.upper()}")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256",
        sign("another-secret", BODY),
        sign(SECRET, BODY + b" "),
        sign(SECRET, BODY).replace("sha256=", "sha1="),
        "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest(),
        sign(SECRET, BODY)[:-1] + "é",
    ],
    ids=[
        "missing",
        "empty",
        "no-digest",
        "no-equals",
        "wrong-secret",
        "tampered-body",
        "wrong-algorithm-label",
        "sha1",
        "non-ascii",
    ],
)
def test_bad_missing_or_wrong_algorithm_signatures_fail(header):
    assert verify_hub_signature(SECRET, BODY, header) is False


def test_no_configured_secret_never_verifies():
    assert verify_hub_signature("", BODY, sign("", BODY)) is False
    assert verify_hub_signature(None, BODY, sign("x", BODY)) is False
