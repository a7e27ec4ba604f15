"""The Jenkins dry-run twin: records what JenkinsAdapter would send instead of sending it."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from integrations.dryrun import DRY_RUN_HOST, DryRunAdapter, DryRunRecorder
from integrations.jenkins.adapter import RUN_ID_PARAMETER, JenkinsBuild, JenkinsQueueItem, JenkinsRunRef, job_path


class DryRunJenkinsAdapter(DryRunAdapter):
    """Records what JenkinsAdapter would send."""

    system = "jenkins"

    def __init__(self, recorder: DryRunRecorder | None = None) -> None:
        super().__init__(recorder)
        self.queue: dict[int, tuple[str, dict[str, str]]] = {}
        self._queue_ids = itertools.count(101)
        self.builds: dict[int, int] = {}  # queue id -> build number

    def trigger_build(
        self,
        *,
        job: str,
        parameters: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        token: str | None = None,
    ) -> int:
        """Record queueing a build (any trigger token is left out of the record)."""
        params = {k: str(v) for k, v in (parameters or {}).items()}
        if run_id:
            params[RUN_ID_PARAMETER] = run_id
        endpoint = "buildWithParameters" if params else "build"
        self._record(
            "trigger_build", f"Queue a build of job {job!r}", "POST", f"/{job_path(job)}/{endpoint}", parameters=params
        )
        queue_id = next(self._queue_ids)
        self.queue[queue_id] = (job, params)
        return queue_id

    def queue_status(self, queue_id: int) -> JenkinsQueueItem:
        """Record a queue poll; a dry-run item has always started."""
        self._record("queue_status", f"Read queue item {queue_id}", "GET", f"/queue/item/{queue_id}/api/json")
        job = self.queue.get(queue_id, ("job", {}))[0]
        number = self.builds.setdefault(queue_id, len(self.builds) + 1)
        url = f"https://jenkins.{DRY_RUN_HOST}/{job_path(job)}/{number}/"
        return JenkinsQueueItem(queue_id, "started", None, number, url)

    def build_status(self, *, job: str, number: int) -> JenkinsBuild:
        """Record a build poll; a dry-run build has always succeeded."""
        self._record(
            "build_status", f"Read build {number} of job {job!r}", "GET", f"/{job_path(job)}/{number}/api/json"
        )
        url = f"https://jenkins.{DRY_RUN_HOST}/{job_path(job)}/{number}/"
        return JenkinsBuild(job, number, "SUCCESS", url, f"{url}console")

    def find_build_by_run_id(self, *, job: str, run_id: str, limit: int = 20) -> JenkinsRunRef | None:
        """Record looking for an earlier build of this run: the queue first, then recent builds."""
        mine = [
            q
            for q, (queued_job, params) in self.queue.items()
            if queued_job == job and params.get(RUN_ID_PARAMETER) == run_id
        ]
        self._record("find_build_by_run_id", "Look in the build queue", "GET", "/queue/api/json")
        waiting = [q for q in mine if q not in self.builds]
        if waiting:
            return JenkinsRunRef(job, waiting[0], None, None)
        self._record(
            "find_build_by_run_id", f"Look at recent builds of job {job!r}", "GET", f"/{job_path(job)}/api/json"
        )
        started = [q for q in mine if q in self.builds]
        if started:
            number = self.builds[started[0]]
            return JenkinsRunRef(job, started[0], number, f"https://jenkins.{DRY_RUN_HOST}/{job_path(job)}/{number}/")
        return None
