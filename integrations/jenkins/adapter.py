"""Jenkins adapter over python-jenkins: trigger a parameterised job, follow queue item -> build -> result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import jenkins
import requests

from integrations.config import JenkinsConfig
from integrations.errors import NETWORK_ERRORS, IntegrationError, from_jenkins
from integrations.results import CheckResult

log = logging.getLogger(__name__)

RUN_ID_PARAMETER = "PORTICO_RUN_ID"
T = TypeVar("T")
QueueState = Literal["waiting", "started", "cancelled"]


@dataclass(frozen=True)
class JenkinsQueueItem:
    """A queued build request: still waiting, started as build `build_number`, or cancelled."""

    queue_id: int
    state: QueueState
    why: str | None = None
    build_number: int | None = None
    build_url: str | None = None


@dataclass(frozen=True)
class JenkinsBuild:
    """A build and its result: `status` is "building" or Jenkins' result (SUCCESS, FAILURE, ABORTED, ...)."""

    job: str
    number: int
    status: str
    url: str
    console_url: str

    @property
    def finished(self) -> bool:
        return self.status != "building"

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"


@dataclass(frozen=True)
class JenkinsRunRef:
    """Where an earlier trigger for a run ended up: still queued (`queue_id`) or already a build (`build_number`)."""

    job: str
    queue_id: int | None
    build_number: int | None
    url: str | None


def job_path(job: str) -> str:
    """'team/deploy' -> 'job/team/job/deploy' (the folder plugin's URL form)."""
    return "/".join(f"job/{part}" for part in job.split("/"))


def _parameters(actions: list[dict] | None) -> dict[str, Any]:
    for action in actions or []:
        if action and action.get("parameters"):
            return {p.get("name"): p.get("value") for p in action["parameters"]}
    return {}


class JenkinsAdapter:
    """Portico's only door to Jenkins."""

    system = "jenkins"

    def __init__(self, config: JenkinsConfig) -> None:
        self._config = config
        # retries=0: Celery owns retries; urllib3 must not replay a POST that may have queued a build.
        # The stubs say int, but python-jenkins hands the timeout to requests, which takes fractions of a second.
        self._server = jenkins.Jenkins(
            config.url,
            username=config.user,
            password=config.api_token,
            timeout=config.timeout,  # type: ignore[arg-type]
            retries=0,
        )

    def __repr__(self) -> str:
        return f"JenkinsAdapter(url={self._config.url!r}, user={self._config.user!r})"

    def _call(self, action: str, fn: Callable[..., T], *args: Any, secrets: tuple[str, ...] = (), **kwargs: Any) -> T:
        """Run one client call, mapping every failure to an IntegrationError."""
        log.info("jenkins: %s", action)
        try:
            return fn(*args, **kwargs)
        except (jenkins.JenkinsException, requests.exceptions.RequestException, *NETWORK_ERRORS) as exc:
            raise from_jenkins(exc, action=action, secrets=self._config.secrets + secrets) from None

    def trigger_build(
        self,
        *,
        job: str,
        parameters: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        token: str | None = None,
    ) -> int:
        """Queue a build of `job`; returns the queue item id. `run_id` becomes the PORTICO_RUN_ID parameter.

        `token` is the job's "trigger builds remotely" token; python-jenkins sends it in the query string, so
        prefer the API token (always sent) and leave it None.
        """
        params = {k: str(v) for k, v in (parameters or {}).items()}
        if run_id:
            params[RUN_ID_PARAMETER] = run_id
        secrets = (token,) if token else ()
        return self._call(
            f"queueing a build of job {job!r}",
            self._server.build_job,
            job,
            parameters=params or None,
            token=token,
            secrets=secrets,
        )

    def queue_status(self, queue_id: int) -> JenkinsQueueItem:
        """Follow a queue item. Jenkins forgets items a few minutes after they start: use find_build_by_run_id then."""
        item = self._call(f"reading queue item {queue_id}", self._server.get_queue_item, queue_id)
        executable = item.get("executable")
        if executable:
            return JenkinsQueueItem(queue_id, "started", None, int(executable["number"]), executable.get("url"))
        if item.get("cancelled"):
            return JenkinsQueueItem(queue_id, "cancelled", item.get("why"))
        return JenkinsQueueItem(queue_id, "waiting", item.get("why"))

    def build_status(self, *, job: str, number: int) -> JenkinsBuild:
        """Whether build `number` of `job` is still running, and its result and console link."""
        info = self._call(f"reading build {number} of job {job!r}", self._server.get_build_info, job, number)
        return self._build(job, info)

    def _build(self, job: str, info: Mapping[str, Any]) -> JenkinsBuild:
        status = "building" if info.get("building") else (info.get("result") or "building")
        url = info.get("url") or f"{self._config.url.rstrip('/')}/{job_path(job)}/{info['number']}/"
        return JenkinsBuild(job, int(info["number"]), status, url, f"{url}console")

    def find_build_by_run_id(self, *, job: str, run_id: str, limit: int = 20) -> JenkinsRunRef | None:
        """The queued or recent build of `job` whose PORTICO_RUN_ID is `run_id`, so a redelivered task picks it up
        instead of starting a second build."""
        wanted = f"/{job_path(job)}"
        queue = cast("list[dict[str, Any]]", self._call("reading the build queue", self._server.get_queue_info))
        for item in queue:
            task_url = (item.get("task") or {}).get("url", "").rstrip("/")
            if task_url.endswith(wanted) and _parameters(item.get("actions")).get(RUN_ID_PARAMETER) == run_id:
                return JenkinsRunRef(job, int(item["id"]), None, None)
        tree = f"?tree=builds[number,url,building,result,actions[parameters[name,value]]]{{0,{limit}}}"
        info = self._call(f"listing recent builds of job {job!r}", self._server.get_info, job_path(job), tree)
        for build in (info.get("builds") or [])[:limit]:
            if _parameters(build.get("actions")).get(RUN_ID_PARAMETER) == run_id:
                return JenkinsRunRef(job, build.get("queueId"), int(build["number"]), build.get("url"))
        return None

    def check(self) -> CheckResult:
        """Test connection: authenticate, then read the Jenkins version."""
        try:
            me = self._call("checking the user and API token", self._server.get_whoami)
            version = self._call("reading the Jenkins version", self._server.get_version)
        except IntegrationError as exc:
            return CheckResult(self.system, False, exc.message)
        who = me.get("id") or self._config.user
        return CheckResult(self.system, True, f"Connected to Jenkins {version} at {self._config.url} as {who}.")
