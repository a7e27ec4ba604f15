"""What Portico asks of Jenkins: the methods the real adapter and its dry-run twin both provide."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from integrations.results import CheckResult

    from .adapter import JenkinsBuild, JenkinsQueueItem, JenkinsRunRef


class JenkinsPort(Protocol):
    """Trigger a parameterised job and follow it from queue item to build to result."""

    def trigger_build(
        self,
        *,
        job: str,
        parameters: Mapping[str, Any] | None = ...,
        run_id: str | None = ...,
        token: str | None = ...,
    ) -> int: ...

    def queue_status(self, queue_id: int) -> JenkinsQueueItem: ...

    def build_status(self, *, job: str, number: int) -> JenkinsBuild: ...

    def find_build_by_run_id(self, *, job: str, run_id: str, limit: int = ...) -> JenkinsRunRef | None: ...

    def check(self) -> CheckResult: ...
