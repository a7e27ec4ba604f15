"""A Jira REST v2 stub: issues, a three-status workflow with transitions, comments and a tiny JQL search.

Accepts Cloud basic auth (e-mail + API token) and Data Center bearer PATs.
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from integrations.stub_server import Request, Response, StubServer

ISSUE = r"/rest/api/2/issue/(?P<key>[^/]+)"
CREATED_AT = "2026-01-05T09:30:00.000+0530"
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
STATUSES = {"To Do": "10000", "In Progress": "3", "Done": "10001"}
# from-status -> [(transition id, transition name, to-status)]
WORKFLOW = {
    "To Do": [("11", "Start Progress", "In Progress"), ("21", "Done", "Done")],
    "In Progress": [("31", "Stop Progress", "To Do"), ("21", "Done", "Done")],
    "Done": [("41", "Reopen", "To Do")],
}
# Jira's default issue link types, plus a parent/child type a project defines for Portico's parent links.
LINK_TYPES = [
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
    ("10004", "Problem/Incident", "is caused by", "causes"),
    ("10005", "Parent-Child", "is child of", "is parent of"),
]
FIELDS = ["summary", "description", "labels", "priority", "status", "assignee", "project", "issuetype"]
CLAUSE = re.compile(r"""\s*(\w+)\s*(=|~)\s*(?:"([^"]*)"|'([^']*)'|(\S+))\s*""")


class JiraStub(StubServer):
    """In-memory Jira with one project per key in `projects`."""

    system = "jira"

    def __init__(
        self,
        email: str = "portico-bot@example.gov",
        api_token: str = "jira-test-token",  # noqa: S107 - test-only defaults
        pat: str = "jira-test-pat",
        deployment_type: str = "Cloud",
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.pat = pat
        self.deployment_type = deployment_type
        self.projects = {"OPS": {"id": "10000", "key": "OPS", "name": "Operations"}}
        self.issues: dict[str, dict] = {}
        self._ids = itertools.count(10001)
        self._comment_ids = itertools.count(20001)
        self.links: list[dict] = []  # what POST /rest/api/2/issueLink created, as Jira stores it
        self._link_ids = itertools.count(30001)
        super().__init__()

    def routes(self):
        return [
            ("GET", r"/rest/api/2/serverInfo", self.server_info),
            ("GET", r"/rest/api/2/myself", self.myself),
            ("GET", r"/rest/api/2/field", self.fields),
            ("POST", r"/rest/api/2/issue", self.create_issue),
            ("GET", ISSUE, self.get_issue),
            ("PUT", ISSUE, self.edit_issue),
            ("GET", ISSUE + r"/transitions", self.list_transitions),
            ("POST", ISSUE + r"/transitions", self.do_transition),
            ("GET", ISSUE + r"/comment", self.list_comments),
            ("POST", ISSUE + r"/comment", self.add_comment),
            ("GET", r"/rest/api/2/issueLinkType", self.link_types),
            ("POST", r"/rest/api/2/issueLink", self.link_issues),
            ("DELETE", r"/rest/api/2/issueLink/(?P<link_id>[^/]+)", self.unlink_issues),
            ("GET", r"/rest/api/2/search", self.search),
            ("GET", r"/rest/api/2/search/jql", self.search_jql),
        ]

    def authorised(self, request: Request) -> bool:
        if request.path == "/rest/api/2/serverInfo":
            return True  # Jira serves this to anonymous callers too
        header = request.headers.get("authorization", "")
        basic = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return header in (f"Basic {basic}", f"Bearer {self.pat}")

    def error(self, status: int, message: str) -> Response:
        return Response(status, {"errorMessages": [message], "errors": {}})

    # ---- helpers ----------------------------------------------------------------------------------------------
    def _issue_json(self, issue: dict, fields: list[str] | None = None) -> dict:
        wanted = fields or FIELDS
        shown = {k: v for k, v in issue["fields"].items() if "*all" in wanted or k in wanted}
        if "*all" in wanted or "issuelinks" in wanted:
            shown["issuelinks"] = self._issue_links(issue["key"])
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{self.url}/rest/api/2/issue/{issue['id']}",
            "fields": shown,
        }

    def _issue_links(self, key: str) -> list[dict]:
        """The issue's `issuelinks` field: each link seen from this side, naming the issue at its other end (the
        link's inward issue sees it as an outward link, and the reverse)."""
        seen = []
        for link in self.links:
            row = next(r for r in LINK_TYPES if r[1] == link["type"])
            link_type = {"id": row[0], "name": row[1], "inward": row[2], "outward": row[3]}
            for here, there, side in (("inward", "outward", "outwardIssue"), ("outward", "inward", "inwardIssue")):
                if link[here] == key:
                    other = self.issues[link[there]]
                    brief = {
                        "id": other["id"],
                        "key": other["key"],
                        "self": f"{self.url}/rest/api/2/issue/{other['id']}",
                    }
                    seen.append({"id": link["id"], "type": link_type, side: brief})
        return seen

    def _issue_or_404(self, request: Request) -> dict | Response:
        ref = request.params["key"]
        issue = self.issues.get(ref) or next((i for i in self.issues.values() if i["id"] == ref), None)
        return issue if issue else self.error(404, "Issue does not exist or you do not have permission to see it.")

    def _requested_fields(self, request: Request) -> list[str] | None:
        values = request.query.get("fields")
        if not values:
            return None
        return [f for v in values for f in v.split(",") if f]

    # ---- handlers ---------------------------------------------------------------------------------------------
    def server_info(self, request: Request) -> Response:
        body = {
            "baseUrl": self.url,
            "version": "10.3.2",
            "versionNumbers": [10, 3, 2],
            "deploymentType": self.deployment_type,
            "buildNumber": 10030002,
            "serverTitle": "Jira (stub)",
        }
        return Response(200, body)

    def myself(self, request: Request) -> Response:
        if request.headers.get("authorization", "").startswith("Bearer"):
            return Response(200, {"name": "portico-bot", "displayName": "Portico Bot", "active": True})
        body = {"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": self.email, "displayName": "Portico Bot"}
        return Response(200, {**body, "active": True})

    def fields(self, request: Request) -> Response:
        body = [
            {"id": f, "key": f, "name": f.title(), "custom": False, "navigable": True, "clauseNames": [f]}
            for f in FIELDS
        ]
        return Response(200, body)

    def _field_errors(self, fields: dict) -> dict[str, str]:
        errors = {}
        if "priority" in fields and fields["priority"] is not None:
            name = (fields["priority"] or {}).get("name")
            if name not in PRIORITIES:
                errors["priority"] = f"The priority selected is invalid: {name!r}."
        if "summary" in fields and not fields["summary"]:
            errors["summary"] = "You must specify a summary of the issue."
        if "labels" in fields and any(" " in label for label in fields["labels"] or []):
            errors["labels"] = "The label can't contain spaces."
        return errors

    @staticmethod
    def _priority(name: str | None) -> dict | None:
        return {"name": name, "id": PRIORITIES[name]} if name else None

    def create_issue(self, request: Request) -> Response:
        fields: dict[str, Any] = (request.body or {}).get("fields", {}) if isinstance(request.body, dict) else {}
        project = self.projects.get((fields.get("project") or {}).get("key", ""))
        errors = self._field_errors({"summary": fields.get("summary"), **fields})
        if project is None:
            errors["project"] = "valid project is required"
        if not (fields.get("issuetype") or {}).get("name"):
            errors["issuetype"] = "valid issue type is required"
        if errors or project is None:
            return Response(400, {"errorMessages": [], "errors": errors})
        issue_id = str(next(self._ids))
        number = 1 + sum(1 for i in self.issues.values() if i["fields"]["project"]["key"] == project["key"])
        key = f"{project['key']}-{number}"
        self.issues[key] = {
            "id": issue_id,
            "key": key,
            "comments": [],
            "fields": {
                "summary": fields["summary"],
                "description": fields.get("description"),
                "labels": list(fields.get("labels") or []),
                "priority": self._priority((fields.get("priority") or {}).get("name") or "Medium"),
                "status": {"name": "To Do", "id": STATUSES["To Do"]},
                "assignee": None,
                "project": project,
                "issuetype": {"name": fields["issuetype"]["name"]},
                "created": CREATED_AT,
                "updated": CREATED_AT,
            },
        }
        return Response(201, {"id": issue_id, "key": key, "self": f"{self.url}/rest/api/2/issue/{issue_id}"})

    def get_issue(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if isinstance(issue, Response):
            return issue
        return Response(200, self._issue_json(issue, self._requested_fields(request)))

    def edit_issue(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if isinstance(issue, Response):
            return issue
        body = request.body if isinstance(request.body, dict) else {}
        fields = body.get("fields") or {}
        errors = self._field_errors(fields)
        unknown = [f for f in fields if f not in FIELDS]
        for name in unknown:
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            return Response(400, {"errorMessages": [], "errors": errors})
        for name, value in fields.items():
            issue["fields"][name] = self._priority(value["name"]) if name == "priority" and value else value
        for op in (body.get("update") or {}).get("labels", []):
            labels = issue["fields"]["labels"]
            if "add" in op and op["add"] not in labels:
                labels.append(op["add"])
            if "remove" in op and op["remove"] in labels:
                labels.remove(op["remove"])
        return Response(204)

    def _available(self, issue: dict) -> list[dict]:
        return [
            {"id": tid, "name": name, "to": {"name": to, "id": STATUSES[to]}, "hasScreen": False}
            for tid, name, to in WORKFLOW[issue["fields"]["status"]["name"]]
        ]

    def list_transitions(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if isinstance(issue, Response):
            return issue
        return Response(200, {"expand": "transitions", "transitions": self._available(issue)})

    def do_transition(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if isinstance(issue, Response):
            return issue
        body = request.body if isinstance(request.body, dict) else {}
        wanted = str((body.get("transition") or {}).get("id"))
        match = next((t for t in self._available(issue) if t["id"] == wanted), None)
        if match is None:
            return Response(400, {"errorMessages": [f"Transition id '{wanted}' is not valid for this issue."]})
        issue["fields"]["status"] = {"name": match["to"]["name"], "id": match["to"]["id"]}
        for op in (body.get("update") or {}).get("comment", []):
            self._comment(issue, op["add"]["body"])
        return Response(204)

    def _comment(self, issue: dict, text: str) -> dict:
        comment_id = str(next(self._comment_ids))
        comment = {
            "id": comment_id,
            "self": f"{self.url}/rest/api/2/issue/{issue['id']}/comment/{comment_id}",
            "body": text,
            "author": {"displayName": "Portico Bot"},
            "created": CREATED_AT,
            "updated": CREATED_AT,
        }
        issue["comments"].append(comment)
        return comment

    def list_comments(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if isinstance(issue, Response):
            return issue
        comments = issue["comments"]
        return Response(200, {"startAt": 0, "maxResults": len(comments), "total": len(comments), "comments": comments})

    def add_comment(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if isinstance(issue, Response):
            return issue
        text = (request.body or {}).get("body") if isinstance(request.body, dict) else None
        if not text:
            return Response(400, {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}})
        return Response(201, self._comment(issue, text))

    def link_types(self, request: Request) -> Response:
        types = [
            {"id": type_id, "name": name, "inward": inward, "outward": outward,
             "self": f"{self.url}/rest/api/2/issueLinkType/{type_id}"}
            for type_id, name, inward, outward in LINK_TYPES
        ]  # fmt: skip
        return Response(200, {"issueLinkTypes": types})

    def link_issues(self, request: Request) -> Response:
        """POST /rest/api/2/issueLink: {"type": {"name"}, "inwardIssue": {"key"}, "outwardIssue": {"key"}}; Jira
        answers 201 with an empty body."""
        body = request.body if isinstance(request.body, dict) else {}
        name = (body.get("type") or {}).get("name", "")
        if not any(name == row[1] for row in LINK_TYPES):
            return self.error(404, f"No issue link type with name '{name}' found.")
        keys = [(body.get(side) or {}).get("key", "") for side in ("inwardIssue", "outwardIssue")]
        if not all(key in self.issues for key in keys):
            return self.error(404, "Issue does not exist or you do not have permission to see it.")
        self.add_link(name, keys[0], keys[1])
        return Response(201, "")

    def add_link(self, type_name: str, inward: str, outward: str) -> dict:
        """Link two issues as somebody in Jira would (also what POST /issueLink does); returns the stored link."""
        link = {"id": str(next(self._link_ids)), "type": type_name, "inward": inward, "outward": outward}
        self.links.append(link)
        return link

    def unlink_issues(self, request: Request) -> Response:
        """DELETE /rest/api/2/issueLink/{id}: 204, or 404 when no such link exists (any more)."""
        link_id = request.params["link_id"]
        found = next((link for link in self.links if link["id"] == link_id), None)
        if found is None:
            return self.error(404, f"No issue link with id '{link_id}' exists.")
        self.links.remove(found)
        return Response(204, "")

    def _matching(self, jql: str) -> list[dict] | Response:
        jql = re.split(r"\s+order\s+by\s+", jql, flags=re.IGNORECASE)[0]
        clauses = []
        for part in re.split(r"\s+AND\s+", jql.strip(), flags=re.IGNORECASE):
            match = CLAUSE.fullmatch(part)
            if not match or match.group(1).lower() not in ("project", "labels", "key", "status", "summary"):
                return self.error(400, f"Error in the JQL Query: unsupported clause {part!r}.")
            value = next(g for g in match.groups()[2:] if g is not None)
            clauses.append((match.group(1).lower(), match.group(2), value))

        def keep(issue: dict) -> bool:
            f = issue["fields"]
            have = {
                "project": [f["project"]["key"]],
                "labels": f["labels"],
                "key": [issue["key"]],
                "status": [f["status"]["name"]],
                "summary": [f["summary"]],
            }
            for field, op, value in clauses:
                if op == "~" and not any(value.lower() in v.lower() for v in have[field]):
                    return False
                if op == "=" and value not in have[field]:
                    return False
            return True

        return [i for i in self.issues.values() if keep(i)]

    def search(self, request: Request) -> Response:
        found = self._matching(request.arg("jql", "") or "")
        if isinstance(found, Response):
            return found
        start, limit = int(request.arg("startAt", "0") or 0), int(request.arg("maxResults", "50") or 50)
        page = [self._issue_json(i, self._requested_fields(request)) for i in found[start : start + limit]]
        return Response(200, {"startAt": start, "maxResults": limit, "total": len(found), "issues": page})

    def search_jql(self, request: Request) -> Response:
        found = self._matching(request.arg("jql", "") or "")
        if isinstance(found, Response):
            return found
        limit = int(request.arg("maxResults", "50") or 50)
        page = [self._issue_json(i, self._requested_fields(request)) for i in found[:limit]]
        return Response(200, {"issues": page, "isLast": len(found) <= limit})
