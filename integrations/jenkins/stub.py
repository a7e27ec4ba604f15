"""A Jenkins stub: crumbs, basic auth, parameterised jobs (folders too), queue items that become builds.

A queue item waits for `queue_polls` polls and then starts a build; the build runs for `build_polls` polls and
then finishes with the job's result.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Any

from integrations.stub_server import Request, Response, StubServer

JOB = r"(?P<job>(?:/job/[^/]+)+)"
PARAMETERS_ACTION = "hudson.model.ParametersAction"
CRUMB = "stub-crumb-7f3a"


def job_name(job_path: str) -> str:
    """'/job/team/job/deploy' -> 'team/deploy'."""
    return "/".join(part for part in job_path.split("/job/") if part)


def job_url_path(name: str) -> str:
    """'team/deploy' -> 'job/team/job/deploy/'."""
    return "".join(f"job/{part}/" for part in name.split("/"))


@dataclass
class StubJob:
    """A job and its builds, newest last."""

    name: str
    result: str = "SUCCESS"
    builds: list[dict] = field(default_factory=list)


@dataclass
class QueueItem:
    """A queued request to build `job`."""

    id: int
    job: str
    parameters: list[dict]
    polls: int = 0
    cancelled: bool = False
    build_number: int | None = None


class JenkinsStub(StubServer):
    """In-memory Jenkins controller."""

    system = "jenkins"

    def __init__(self, user: str = "portico", api_token: str = "jenkins-test-token") -> None:  # noqa: S107 - test-only default
        self.user = user
        self.api_token = api_token
        self.queue_polls = 1
        self.build_polls = 1
        self.require_crumb = True
        self.jobs: dict[str, StubJob] = {}
        self.queue: dict[int, QueueItem] = {}
        self._queue_ids = itertools.count(41)
        super().__init__()

    def routes(self):
        return [
            ("GET", r"/", self.root),
            ("GET", r"/api/json", self.overview),
            ("GET", r"/crumbIssuer/api/json", self.crumb),
            ("GET", r"/me/api/json", self.whoami),
            ("POST", JOB + r"/buildWithParameters", self.build),
            ("POST", JOB + r"/build", self.build),
            ("GET", JOB + r"/api/json", self.job_info),
            ("GET", JOB + r"/(?P<number>\d+)/api/json", self.build_info),
            ("GET", r"/queue/api/json", self.queue_info),
            ("GET", r"/queue/item/(?P<id>\d+)/api/json", self.queue_item),
            ("POST", r"/queue/cancelItem", self.cancel),
        ]

    def authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.api_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def error(self, status: int, message: str) -> Response:
        # Jenkins answers errors with HTML pages.
        return Response(
            status,
            f"<html><body><h1>Error {status}</h1><p>{message}</p></body></html>",
            {"Content-Type": "text/html;charset=utf-8"},
        )

    # ---- seeding and helpers ----------------------------------------------------------------------------------
    def add_job(self, name: str, result: str = "SUCCESS") -> StubJob:
        self.jobs[name] = StubJob(name=name, result=result)
        return self.jobs[name]

    def build_parameters(self, job: str, number: int) -> dict[str, str]:
        build = next(b for b in self.jobs[job].builds if b["number"] == number)
        return {p["name"]: p["value"] for p in build["actions"][0]["parameters"]}

    def _job_url(self, name: str) -> str:
        return f"{self.url}/{job_url_path(name)}"

    def _job_or_404(self, request: Request) -> StubJob | Response:
        job = self.jobs.get(job_name(request.params["job"]))
        return job if job else self.error(404, "Not Found")

    # ---- handlers ---------------------------------------------------------------------------------------------
    def root(self, request: Request) -> Response:
        return Response(200, "<html>Dashboard [Jenkins]</html>", {"X-Jenkins": "2.479.3", "Content-Type": "text/html"})

    def overview(self, request: Request) -> Response:
        jobs = [{"name": j.name, "url": self._job_url(j.name), "color": "blue"} for j in self.jobs.values()]
        return Response(200, {"mode": "NORMAL", "nodeName": "", "jobs": jobs})

    def crumb(self, request: Request) -> Response:
        body = {
            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
            "crumb": CRUMB,
            "crumbRequestField": "Jenkins-Crumb",
        }
        return Response(200, body)

    def whoami(self, request: Request) -> Response:
        return Response(200, {"_class": "hudson.model.User", "id": self.user, "fullName": self.user.title()})

    def build(self, request: Request) -> Response:
        if self.require_crumb and request.headers.get("jenkins-crumb") != CRUMB:
            return self.error(403, "No valid crumb was included in the request")
        job = self._job_or_404(request)
        if isinstance(job, Response):
            return job
        parameters = [{"name": k, "value": v[0]} for k, v in request.query.items() if k != "token"]
        item = QueueItem(id=next(self._queue_ids), job=job.name, parameters=parameters)
        self.queue[item.id] = item
        return Response(201, "", {"Location": f"{self.url}/queue/item/{item.id}/", "Content-Type": "text/plain"})

    def _build_json(self, job: StubJob, build: dict) -> dict:
        return {k: v for k, v in build.items() if not k.startswith("_")}

    def job_info(self, request: Request) -> Response:
        job = self._job_or_404(request)
        if isinstance(job, Response):
            return job
        builds = [self._build_json(job, b) for b in reversed(job.builds)]
        body = {
            "_class": "hudson.model.FreeStyleProject",
            "name": job.name.rsplit("/", 1)[-1],
            "fullName": job.name,
            "url": self._job_url(job.name),
            "buildable": True,
            "builds": builds,
            "lastBuild": builds[0] if builds else None,
            "nextBuildNumber": len(job.builds) + 1,
            "inQueue": any(i.job == job.name and i.build_number is None for i in self.queue.values()),
        }
        return Response(200, body)

    def build_info(self, request: Request) -> Response:
        job = self._job_or_404(request)
        if isinstance(job, Response):
            return job
        number = int(request.params["number"])
        build = next((b for b in job.builds if b["number"] == number), None)
        if build is None:
            return self.error(404, "Not Found")
        if build["building"]:
            if build["_polls"] >= self.build_polls:
                build.update(building=False, result=job.result, duration=4200)
            build["_polls"] += 1
        return Response(200, self._build_json(job, build))

    def _item_json(self, item: QueueItem) -> dict:
        body: dict[str, Any] = {
            "id": item.id,
            "actions": [{"_class": PARAMETERS_ACTION, "parameters": item.parameters}],
            "task": {
                "_class": "hudson.model.FreeStyleProject",
                "name": item.job.rsplit("/", 1)[-1],
                "url": self._job_url(item.job),
            },
            "inQueueSince": 1767605400000,
        }
        if item.cancelled:
            body.update({"_class": "hudson.model.Queue$LeftItem", "cancelled": True, "executable": None})
        elif item.build_number is not None:
            url = f"{self._job_url(item.job)}{item.build_number}/"
            body.update(
                {
                    "_class": "hudson.model.Queue$LeftItem",
                    "cancelled": False,
                    "executable": {"_class": "hudson.model.FreeStyleBuild", "number": item.build_number, "url": url},
                }
            )
        else:
            body.update(
                {
                    "_class": "hudson.model.Queue$WaitingItem",
                    "blocked": False,
                    "buildable": True,
                    "stuck": False,
                    "why": "Waiting for next available executor",
                }
            )
        return body

    def _start(self, item: QueueItem) -> None:
        job = self.jobs[item.job]
        number = len(job.builds) + 1
        job.builds.append(
            {
                "_class": "hudson.model.FreeStyleBuild",
                "number": number,
                "url": f"{self._job_url(job.name)}{number}/",
                "building": True,
                "result": None,
                "duration": 0,
                "queueId": item.id,
                "actions": [
                    {"_class": PARAMETERS_ACTION, "parameters": item.parameters},
                    {"_class": "hudson.model.CauseAction"},
                ],
                "_polls": 0,
            }
        )
        item.build_number = number

    def queue_info(self, request: Request) -> Response:
        waiting = [self._item_json(i) for i in self.queue.values() if i.build_number is None and not i.cancelled]
        return Response(200, {"_class": "hudson.model.Queue", "discoverableItems": [], "items": waiting})

    def queue_item(self, request: Request) -> Response:
        item = self.queue.get(int(request.params["id"]))
        if item is None:
            return self.error(404, "Not Found")
        if item.build_number is None and not item.cancelled:
            if item.polls >= self.queue_polls:
                self._start(item)
            item.polls += 1
        return Response(200, self._item_json(item))

    def cancel(self, request: Request) -> Response:
        item = self.queue.get(int(request.arg("id", "0") or 0))
        if item is None:
            return self.error(404, "Not Found")
        if item.build_number is None:
            item.cancelled = True
        return Response(204)
