"""A GitLab REST v4 stub: groups, projects, members, trigger tokens and pipelines that progress as they are polled."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import unquote

from integrations.stub_server import Request, Response, StubServer

ACCESS_LEVELS = {0, 5, 10, 15, 20, 30, 40, 50}
CREATED_AT = "2026-01-05T09:30:00.000Z"
PROJECT = r"/api/v4/projects/(?P<project>[^/]+)"


class GitLabStub(StubServer):
    """In-memory GitLab; pipelines go created → running → `pipeline_result` over two polls."""

    system = "gitlab"

    def __init__(self, token: str = "glpat-test-token", trigger_token: str = "glptt-test-trigger") -> None:  # noqa: S107 - test-only defaults
        self.token = token
        self.trigger_token = trigger_token
        self.pipeline_result = "success"
        self.users: dict[int, dict] = {}
        self.groups: dict[int, dict] = {}
        self.projects: dict[int, dict] = {}
        self.members: dict[tuple[int, int], dict] = {}
        self.pipelines: dict[int, dict] = {}
        self._ids = itertools.count(100)
        super().__init__()
        for user_id, username in ((1, "portico-bot"), (7, "asha"), (8, "bala")):
            self.add_user(user_id, username)
        self.add_group(10, "platform")
        self.add_group(11, "punjab", parent="platform")

    def routes(self):
        return [
            ("GET", r"/api/v4/user", self.current_user),
            ("GET", r"/api/v4/version", self.version),
            ("GET", r"/api/v4/users", self.list_users),
            ("GET", r"/api/v4/groups/(?P<group>[^/]+)", self.get_group),
            ("POST", r"/api/v4/projects", self.create_project),
            ("GET", PROJECT, self.get_project),
            ("GET", PROJECT + r"/members", self.list_members),
            ("POST", PROJECT + r"/members", self.add_member),
            ("GET", PROJECT + r"/members/(?P<user>\d+)", self.get_member),
            ("PUT", PROJECT + r"/members/(?P<user>\d+)", self.edit_member),
            ("DELETE", PROJECT + r"/members/(?P<user>\d+)", self.remove_member),
            ("POST", PROJECT + r"/trigger/pipeline", self.trigger_pipeline),
            ("GET", PROJECT + r"/pipelines", self.list_pipelines),
            ("GET", PROJECT + r"/pipelines/(?P<pipeline>\d+)", self.get_pipeline),
            ("GET", PROJECT + r"/pipelines/(?P<pipeline>\d+)/variables", self.pipeline_variables),
        ]

    def authorised(self, request: Request) -> bool:
        if request.path.endswith("/trigger/pipeline"):
            return True  # trigger tokens authenticate themselves, in the body
        return request.headers.get("private-token") == self.token

    def error(self, status: int, message: str) -> Response:
        words = {401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found"}
        return Response(status, {"message": words.get(status, message)})

    # ---- seeding and helpers for tests -----------------------------------------------------------------------
    def add_user(self, user_id: int, username: str) -> dict:
        user = {"id": user_id, "username": username, "name": username.title(), "state": "active"}
        self.users[user_id] = user
        return user

    def add_group(self, group_id: int, path: str, parent: str | None = None) -> dict:
        full_path = f"{parent}/{path}" if parent else path
        group = {"id": group_id, "name": path.title(), "path": path, "full_path": full_path}
        self.groups[group_id] = group
        return group

    # ---- lookups ----------------------------------------------------------------------------------------------
    def _find_group(self, ref: str) -> dict | None:
        ref = unquote(ref)
        if ref.isdigit():
            return self.groups.get(int(ref))
        return next((g for g in self.groups.values() if g["full_path"] == ref), None)

    def _find_project(self, ref: str) -> dict | None:
        ref = unquote(ref)
        if ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p["path_with_namespace"] == ref), None)

    def _project_or_404(self, request: Request) -> dict | Response:
        project = self._find_project(request.params["project"])
        return project if project else Response(404, {"message": "404 Project Not Found"})

    # ---- handlers ---------------------------------------------------------------------------------------------
    def _user_json(self, user_id: int) -> dict:
        user = self.users[user_id]
        return {**user, "web_url": f"{self.url}/{user['username']}"}

    def current_user(self, request: Request) -> Response:
        return Response(200, self._user_json(1))

    def version(self, request: Request) -> Response:
        return Response(200, {"version": "17.8.1-ee", "revision": "a1b2c3d4"})

    def list_users(self, request: Request) -> Response:
        username = request.arg("username")
        users = [self._user_json(i) for i, u in self.users.items() if username is None or u["username"] == username]
        return Response(200, users)

    def get_group(self, request: Request) -> Response:
        group = self._find_group(request.params["group"])
        if group is None:
            return Response(404, {"message": "404 Group Not Found"})
        return Response(200, {**group, "web_url": f"{self.url}/groups/{group['full_path']}"})

    def create_project(self, request: Request) -> Response:
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        name = body.get("name")
        if not name:
            return Response(400, {"message": {"name": ["can't be blank"]}})
        group = self.groups.get(int(body.get("namespace_id") or 0))
        if group is None:
            return Response(404, {"message": "404 Namespace Not Found"})
        path = body.get("path") or name.lower().replace(" ", "-")
        full = f"{group['full_path']}/{path}"
        if any(p["path_with_namespace"] == full for p in self.projects.values()):
            return Response(400, {"message": {"name": ["has already been taken"], "path": ["has already been taken"]}})
        project_id = next(self._ids)
        project = {
            "id": project_id,
            "name": name,
            "path": path,
            "path_with_namespace": full,
            "namespace": {"id": group["id"], "full_path": group["full_path"], "kind": "group"},
            "web_url": f"{self.url}/{full}",
            "default_branch": "main",
            "visibility": body.get("visibility", "private"),
            "created_at": CREATED_AT,
            "template": body.get("template_name") or body.get("template_project_id"),
        }
        self.projects[project_id] = project
        return Response(201, project)

    def get_project(self, request: Request) -> Response:
        project = self._project_or_404(request)
        return project if isinstance(project, Response) else Response(200, project)

    def _member_json(self, project_id: int, user_id: int) -> dict:
        return {**self._user_json(user_id), **self.members[(project_id, user_id)]}

    def list_members(self, request: Request) -> Response:
        project = self._project_or_404(request)
        if isinstance(project, Response):
            return project
        return Response(200, [self._member_json(p, u) for (p, u) in self.members if p == project["id"]])

    def add_member(self, request: Request) -> Response:
        project = self._project_or_404(request)
        if isinstance(project, Response):
            return project
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        user_id = int(body.get("user_id") or 0)
        if user_id not in self.users:
            return Response(404, {"message": "404 User Not Found"})
        if body.get("access_level") not in ACCESS_LEVELS:
            return Response(400, {"message": "access_level does not have a valid value"})
        if (project["id"], user_id) in self.members:
            return Response(409, {"message": "Member already exists"})
        self.members[(project["id"], user_id)] = {
            "access_level": body["access_level"],
            "expires_at": body.get("expires_at"),
            "created_at": CREATED_AT,
        }
        return Response(201, self._member_json(project["id"], user_id))

    def _member_or_404(self, request: Request) -> tuple[int, int] | Response:
        project = self._project_or_404(request)
        if isinstance(project, Response):
            return project
        key = (project["id"], int(request.params["user"]))
        return key if key in self.members else Response(404, {"message": "404 Member Not Found"})

    def get_member(self, request: Request) -> Response:
        key = self._member_or_404(request)
        return key if isinstance(key, Response) else Response(200, self._member_json(*key))

    def edit_member(self, request: Request) -> Response:
        key = self._member_or_404(request)
        if isinstance(key, Response):
            return key
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        if "access_level" in body and body["access_level"] not in ACCESS_LEVELS:
            return Response(400, {"message": "access_level does not have a valid value"})
        self.members[key].update({k: body[k] for k in ("access_level", "expires_at") if k in body})
        return Response(200, self._member_json(*key))

    def remove_member(self, request: Request) -> Response:
        key = self._member_or_404(request)
        if isinstance(key, Response):
            return key
        del self.members[key]
        return Response(204)

    def trigger_pipeline(self, request: Request) -> Response:
        project = self._project_or_404(request)
        if isinstance(project, Response):
            return project
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        if body.get("token") != self.trigger_token:
            return Response(404, {"message": "404 Not Found"})
        if not body.get("ref"):
            return Response(400, {"error": "ref is missing"})
        pipeline_id = next(self._ids)
        variables = body.get("variables") or {}
        self.pipelines[pipeline_id] = {
            "id": pipeline_id,
            "iid": len([p for p in self.pipelines.values() if p["project_id"] == project["id"]]) + 1,
            "project_id": project["id"],
            "status": "created",
            "source": "trigger",
            "ref": body["ref"],
            "sha": "4c1b7e0a2f9d",
            "web_url": f"{project['web_url']}/-/pipelines/{pipeline_id}",
            "created_at": CREATED_AT,
            "_variables": [{"key": k, "value": str(v), "variable_type": "env_var"} for k, v in variables.items()],
        }
        return Response(201, self._pipeline_json(pipeline_id))

    def _pipeline_json(self, pipeline_id: int) -> dict:
        return {k: v for k, v in self.pipelines[pipeline_id].items() if not k.startswith("_")}

    def _pipeline_or_404(self, request: Request) -> dict | Response:
        project = self._project_or_404(request)
        if isinstance(project, Response):
            return project
        pipeline = self.pipelines.get(int(request.params["pipeline"]))
        if pipeline is None or pipeline["project_id"] != project["id"]:
            return Response(404, {"message": "404 Not found"})
        return pipeline

    def list_pipelines(self, request: Request) -> Response:
        project = self._project_or_404(request)
        if isinstance(project, Response):
            return project
        source = request.arg("source")
        per_page = int(request.arg("per_page", "20") or 20)
        found = [
            self._pipeline_json(pid)
            for pid, p in sorted(self.pipelines.items(), reverse=True)
            if p["project_id"] == project["id"] and (source is None or p["source"] == source)
        ]
        return Response(200, found[:per_page])

    def get_pipeline(self, request: Request) -> Response:
        pipeline = self._pipeline_or_404(request)
        if isinstance(pipeline, Response):
            return pipeline
        # Each poll moves it along, so "follow it to its result" takes a couple of polls.
        progression = {"created": "running", "pending": "running", "running": self.pipeline_result}
        pipeline["status"] = progression.get(pipeline["status"], pipeline["status"])
        return Response(200, self._pipeline_json(pipeline["id"]))

    def pipeline_variables(self, request: Request) -> Response:
        pipeline = self._pipeline_or_404(request)
        return pipeline if isinstance(pipeline, Response) else Response(200, pipeline["_variables"])
