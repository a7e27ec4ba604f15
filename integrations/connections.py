"""The adapter an environment uses for a system: real over its connection, or the dry-run twin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dryrun import DryRunRecorder
from .models import Connection
from .registry import get_adapter
from .results import CheckResult

if TYPE_CHECKING:
    from requests_app.models import Environment


def connection_for(environment: Environment, system: str) -> Connection | None:
    return Connection.objects.filter(environment=environment, system=system, enabled=True).first()


def adapter_for(environment: Environment, system: str, *, recorder: DryRunRecorder | None = None) -> Any:
    """The adapter Portico uses for `system` in `environment` (dry-run when no connection is configured)."""
    connection = connection_for(environment, system)
    return get_adapter(system, connection.config() if connection else None, recorder=recorder)


def connection_check(connection: Connection) -> CheckResult:
    """Test a connection and remember the answer, in plain words."""
    from .errors import IntegrationError

    try:
        result = get_adapter(connection.system, connection.config()).check()
    except IntegrationError as exc:
        result = CheckResult(system=connection.system, ok=False, summary=exc.message)
    connection.record_check(ok=result.ok, summary=result.summary)
    return result
