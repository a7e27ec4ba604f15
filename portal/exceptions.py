"""The errors services raise; one DRF handler and the views turn them into 4xx answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class PortalError(Exception):
    """Base of every expected failure; never a 500."""

    status_code = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, Sequence[str] | str] | None = None,
        code: str | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = {key: [value] if isinstance(value, str) else list(value) for key, value in (fields or {}).items()}
        if code:
            self.code = code
        self.extra = dict(extra or {})


class ValidationFailed(PortalError):
    """Input that breaks a business rule; `fields` says which field and why."""


class NotFound(PortalError):
    """The object does not exist for this user (outside their visibility, or truly absent)."""

    status_code = 404
    code = "not_found"


class Forbidden(PortalError):
    """The user can see the object but may not do this to it."""

    status_code = 403
    code = "forbidden"


class InvalidTransition(PortalError):
    """The workflow does not allow this transition from the current state."""

    status_code = 409
    code = "invalid_transition"


class Conflict(PortalError):
    """Somebody else changed the object first."""

    status_code = 409
    code = "conflict"


class ServiceUnavailable(PortalError):
    """A dependency (database, broker) is down; try again later."""

    status_code = 503
    code = "unavailable"
