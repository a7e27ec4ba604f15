"""Jira webhook signatures: `X-Hub-Signature: sha256=<lowercase hex HMAC-SHA256(secret, raw body)>` (WebSub form)."""

from __future__ import annotations

import hashlib
import hmac

ALGORITHM = "sha256"


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, body: bytes) -> str:
    """The header value Jira would send for `body`."""
    return f"{ALGORITHM}=" + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_hub_signature(secret: str | bytes | None, raw_body: bytes, header_value: str | None) -> bool:
    """True only for a sha256 signature of `raw_body` under `secret`, compared in constant time.

    No secret configured means nothing can be verified, so that is a refusal, not a pass.
    """
    if not secret or not header_value:
        return False
    algorithm, _, signature = header_value.strip().partition("=")
    if algorithm.lower() != ALGORITHM or not signature:
        return False
    expected = hmac.new(_key(secret), raw_body, hashlib.sha256).hexdigest()
    # Bytes on both sides: compare_digest refuses non-ASCII str, and a forged header may contain anything.
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace"))
