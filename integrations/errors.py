"""Portico's small error vocabulary for vendor systems, and one mapper per client library.

The rest of the code only ever catches `IntegrationError` (fail the step with a clear message) and
`TransientIntegrationError` (retry with backoff). Messages are our own plain words: client libraries put
URLs with query-string tokens (python-jenkins) or whole request headers (jira's `JIRAError.__str__`) into
their exception text, so that text never reaches a message or a log line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import requests
import urllib3

SYSTEM_NAMES = {"kubernetes": "Kubernetes", "gitlab": "GitLab", "jenkins": "Jenkins", "jira": "Jira"}
MAX_DETAIL = 300
REDACTED = "***"


class ErrorKind(StrEnum):
    """What went wrong, in the words the provisioning code reacts to."""

    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHORISED = "unauthorised"
    UNAVAILABLE = "unavailable"
    INVALID = "invalid"


KIND_WORDS = {
    ErrorKind.NOT_FOUND: "could not find what was asked for",
    ErrorKind.CONFLICT: "reported a conflict with what already exists",
    ErrorKind.UNAUTHORISED: "refused the credentials (check the URL, user and token, and their permissions)",
    ErrorKind.UNAVAILABLE: "is unavailable right now (it will be retried)",
    ErrorKind.INVALID: "rejected the request as invalid",
}


class IntegrationError(Exception):
    """A vendor call failed in a way the caller should not retry as-is."""

    transient = False

    def __init__(self, system: str, kind: ErrorKind | str, message: str, status: int | None = None) -> None:
        self.system = system
        self.kind = ErrorKind(kind)
        self.message = message
        self.status = status
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(system={self.system!r}, kind={self.kind.value!r}, status={self.status!r})"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for a provisioning step's output."""
        return {
            "system": self.system,
            "kind": self.kind.value,
            "status": self.status,
            "message": self.message,
            "transient": self.transient,
        }


class TransientIntegrationError(IntegrationError):
    """The system was unavailable (5xx, 429, timeout, dropped connection): retry with backoff."""

    transient = True


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every known secret in `text`; short values are skipped so we do not mangle ordinary words."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def integration_error(
    system: str,
    kind: ErrorKind,
    *,
    action: str,
    status: int | None = None,
    detail: str = "",
    secrets: Iterable[str | None] = (),
) -> IntegrationError:
    """Build the right error class with a plain-words message, secrets removed."""
    name = SYSTEM_NAMES.get(system, system)
    words = KIND_WORDS[kind]
    message = f"{name} {words}"
    if status:
        message += f" [HTTP {status}]"
    message += f" while {action}."
    detail = " ".join(detail.split())[:MAX_DETAIL]
    if detail:
        message += f" It said: {detail}"
    message = redact(message, secrets)
    cls = TransientIntegrationError if kind is ErrorKind.UNAVAILABLE else IntegrationError
    return cls(system, kind, message, status)


def kind_for_status(status: int | None) -> ErrorKind:
    """Map an HTTP status to our vocabulary; 408/429/5xx are the retryable ones."""
    if status in (401, 403):
        return ErrorKind.UNAUTHORISED
    if status in (404, 410):
        return ErrorKind.NOT_FOUND
    if status == 409:
        return ErrorKind.CONFLICT
    if status in (408, 429) or (status is not None and status >= 500):
        return ErrorKind.UNAVAILABLE
    return ErrorKind.INVALID


def _network_error(system: str, exc: BaseException, action: str) -> IntegrationError:
    """Timeouts, refused or dropped connections: no library text, it may hold URLs with tokens."""
    if isinstance(exc, requests.exceptions.SSLError | urllib3.exceptions.SSLError):
        # A certificate problem does not heal by retrying; it needs the CA bundle fixed.
        return integration_error(
            system, ErrorKind.INVALID, action=action, detail="the TLS certificate could not be verified"
        )
    timeout = isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError)
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, urllib3.exceptions.TimeoutError):
        timeout = True
    detail = "the request timed out" if timeout else "the connection failed or was dropped"
    return integration_error(system, ErrorKind.UNAVAILABLE, action=action, detail=detail)


NETWORK_ERRORS = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)


def from_requests(
    system: str, exc: BaseException, *, action: str, secrets: Iterable[str | None] = ()
) -> IntegrationError:
    """Map a requests error: an HTTPError by its status, anything else as a network failure."""
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        return integration_error(system, kind_for_status(status), action=action, status=status, secrets=secrets)
    return _network_error(system, exc, action)


def from_urllib3(system: str, exc: BaseException, *, action: str) -> IntegrationError:
    """Map a urllib3 error (timeouts, refused or dropped connections, TLS failures)."""
    return _network_error(system, exc, action)


def _json_message(body: Any, *keys: str) -> str:
    """Pull a human message out of a JSON error body (bytes, str or dict); '' when there is none."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return ""
    if not isinstance(body, dict):
        return ""
    for key in keys:
        value = body.get(key)
        if value:
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return ""


def from_kubernetes(exc: BaseException, *, action: str, secrets: Iterable[str | None] = ()) -> IntegrationError:
    """Map kubernetes `ApiException` and urllib3 errors."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, ApiException):
        if not exc.status:
            # status 0: the client could not even send it (bad body, or TLS verification failed).
            return integration_error("kubernetes", ErrorKind.INVALID, action=action, secrets=secrets)
        detail = _json_message(exc.body, "message")
        return integration_error(
            "kubernetes", kind_for_status(exc.status), action=action, status=exc.status, detail=detail, secrets=secrets
        )
    if isinstance(exc, NETWORK_ERRORS):
        return _network_error("kubernetes", exc, action)
    return integration_error("kubernetes", ErrorKind.INVALID, action=action, detail=type(exc).__name__)


def from_gitlab(exc: BaseException, *, action: str, secrets: Iterable[str | None] = ()) -> IntegrationError:
    """Map `gitlab.exceptions.GitlabError` (any subclass) and requests errors."""
    from gitlab import exceptions as gle

    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, gle.GitlabError):
        status = exc.response_code
        if isinstance(exc, gle.GitlabAuthenticationError) and not status:
            status = 401
        message = exc.error_message
        detail = message if isinstance(message, str) else json.dumps(message, sort_keys=True, default=str)
        if isinstance(message, bytes):
            detail = _json_message(message, "message", "error")
        return integration_error(
            "gitlab", kind_for_status(status), action=action, status=status, detail=detail, secrets=secrets
        )
    if isinstance(exc, NETWORK_ERRORS):
        return _network_error("gitlab", exc, action)
    return integration_error("gitlab", ErrorKind.INVALID, action=action, detail=type(exc).__name__)


# python-jenkins folds 401/403/500 into one JenkinsException: "... Possibly authentication failed [<status>]: ...".
_JENKINS_STATUS = re.compile(r"authentication failed \[(\d{3})\]")


def from_jenkins(exc: BaseException, *, action: str, secrets: Iterable[str | None] = ()) -> IntegrationError:
    """Map python-jenkins exceptions (which wrap some requests errors, and let others through)."""
    import jenkins

    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, jenkins.TimeoutException):
        return integration_error("jenkins", ErrorKind.UNAVAILABLE, action=action, detail="the request timed out")
    if isinstance(exc, jenkins.NotFoundException):
        return integration_error("jenkins", ErrorKind.NOT_FOUND, action=action, status=404)
    if isinstance(exc, jenkins.BadHTTPException):
        return integration_error("jenkins", ErrorKind.UNAVAILABLE, action=action)
    if isinstance(exc, jenkins.EmptyResponseException):
        # Jenkins accepted something but said nothing usable; retrying could start a second build.
        return integration_error("jenkins", ErrorKind.INVALID, action=action, detail="the answer was empty")
    if isinstance(exc, jenkins.JenkinsException):
        text = str(exc)
        match = _JENKINS_STATUS.search(text)
        if match:
            status = int(match.group(1))
            return integration_error("jenkins", kind_for_status(status), action=action, status=status)
        if "does not exist" in text:
            return integration_error("jenkins", ErrorKind.NOT_FOUND, action=action, status=404)
        return integration_error("jenkins", ErrorKind.INVALID, action=action)
    if isinstance(exc, requests.exceptions.RequestException):
        return from_requests("jenkins", exc, action=action, secrets=secrets)
    if isinstance(exc, NETWORK_ERRORS):
        return _network_error("jenkins", exc, action)
    return integration_error("jenkins", ErrorKind.INVALID, action=action, detail=type(exc).__name__)


def from_jira(exc: BaseException, *, action: str, secrets: Iterable[str | None] = ()) -> IntegrationError:
    """Map `jira.JIRAError` and requests errors; never `str(JIRAError)`, it prints the request headers."""
    from jira import JIRAError

    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, JIRAError):
        status = exc.status_code
        return integration_error(
            "jira", kind_for_status(status), action=action, status=status, detail=exc.text or "", secrets=secrets
        )
    if isinstance(exc, NETWORK_ERRORS):
        return _network_error("jira", exc, action)
    return integration_error("jira", ErrorKind.INVALID, action=action, detail=type(exc).__name__)
