"""The adapter an environment uses for a system: real over its connection, or the dry-run twin.

`environment` is the request domain's Environment row; adapters sit below that layer, so it is typed as a model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

from django.db.models import Model

from .dryrun import DryRunRecorder
from .models import Connection
from .registry import get_adapter
from .results import CheckResult

if TYPE_CHECKING:
    from .gitlab import GitLabPort
    from .jenkins import JenkinsPort
    from .jira import JiraPort
    from .kubernetes import KubernetesPort
    from .registry import AdapterPort


def connection_for(environment: Model, system: str) -> Connection | None:
    return Connection.objects.filter(environment_id=environment.pk, system=system, enabled=True).first()


@overload
def adapter_for(
    environment: Model, system: Literal["kubernetes"], *, recorder: DryRunRecorder | None = None
) -> KubernetesPort: ...
@overload
def adapter_for(
    environment: Model, system: Literal["gitlab"], *, recorder: DryRunRecorder | None = None
) -> GitLabPort: ...
@overload
def adapter_for(
    environment: Model, system: Literal["jenkins"], *, recorder: DryRunRecorder | None = None
) -> JenkinsPort: ...
@overload
def adapter_for(environment: Model, system: Literal["jira"], *, recorder: DryRunRecorder | None = None) -> JiraPort: ...
@overload
def adapter_for(environment: Model, system: str, *, recorder: DryRunRecorder | None = None) -> AdapterPort: ...
def adapter_for(environment: Model, system: str, *, recorder: DryRunRecorder | None = None) -> AdapterPort:
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
