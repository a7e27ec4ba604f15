"""A Kubernetes API server stub: namespaces, quotas, limit ranges, network policies and role bindings.

Speaks the real paths and `Status` error bodies; bearer-token auth; 404/409/422 come from its state.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any

from integrations.stub_server import Request, Response, StubServer

# resource plural -> (URL prefix, apiVersion, kind); namespaces are cluster-scoped.
RESOURCES = {
    "namespaces": ("api/v1", "v1", "Namespace"),
    "resourcequotas": ("api/v1", "v1", "ResourceQuota"),
    "limitranges": ("api/v1", "v1", "LimitRange"),
    "networkpolicies": ("apis/networking.k8s.io/v1", "networking.k8s.io/v1", "NetworkPolicy"),
    "rolebindings": ("apis/rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1", "RoleBinding"),
}
NAMESPACED = "resourcequotas|limitranges|networkpolicies|rolebindings"
PREFIXES = r"api/v1|apis/networking\.k8s\.io/v1|apis/rbac\.authorization\.k8s\.io/v1"
CREATED_AT = "2026-01-05T09:30:00Z"


def status_body(code: int, reason: str, message: str, *, name: str | None = None, kind: str | None = None) -> dict:
    """A `metav1.Status` failure, as the API server sends it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": {"name": name, "kind": kind},
        "code": code,
    }


REASONS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "AlreadyExists", 500: "InternalError"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (also used for strategic-merge on the maps we manage)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class KubernetesStub(StubServer):
    """In-memory API server; `objects[(plural, namespace, name)]` holds each object as JSON."""

    system = "kubernetes"

    def __init__(self, token: str = "k8s-test-token") -> None:  # noqa: S107 - test-only default
        self.token = token
        self.objects: dict[tuple[str, str | None, str], dict] = {}
        self._versions = itertools.count(1000)
        super().__init__()
        for name in ("default", "kube-system"):
            self._store("namespaces", None, {"metadata": {"name": name}})

    def routes(self):
        collection = rf"/(?P<prefix>{PREFIXES})/namespaces/(?P<ns>[^/]+)/(?P<plural>{NAMESPACED})"
        return [
            ("GET", r"/version/?", self.version),
            ("GET", r"/api/v1/namespaces", self.list_namespaces),
            ("POST", r"/api/v1/namespaces", self.create),
            ("GET", r"/api/v1/namespaces/(?P<name>[^/]+)", self.read),
            ("PUT", r"/api/v1/namespaces/(?P<name>[^/]+)", self.replace),
            ("PATCH", r"/api/v1/namespaces/(?P<name>[^/]+)", self.patch),
            ("DELETE", r"/api/v1/namespaces/(?P<name>[^/]+)", self.delete),
            ("GET", collection, self.list_namespaced),
            ("POST", collection, self.create),
            ("GET", collection + r"/(?P<name>[^/]+)", self.read),
            ("PUT", collection + r"/(?P<name>[^/]+)", self.replace),
            ("PATCH", collection + r"/(?P<name>[^/]+)", self.patch),
            ("DELETE", collection + r"/(?P<name>[^/]+)", self.delete),
        ]

    def authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def error(self, status: int, message: str) -> Response:
        return Response(status, status_body(status, REASONS.get(status, "Unknown"), message))

    # ---- helpers for tests ------------------------------------------------------------------------------------
    def get(self, plural: str, name: str, namespace: str | None = None) -> dict | None:
        return self.objects.get((plural, namespace, name))

    def count(self, plural: str, namespace: str | None = None) -> int:
        return sum(1 for (p, ns, _) in self.objects if p == plural and ns == namespace)

    # ---- state ------------------------------------------------------------------------------------------------
    def _key(self, request: Request, name: str | None = None) -> tuple[str, str | None, str]:
        plural = request.params.get("plural", "namespaces")
        namespace = request.params.get("ns")
        return plural, namespace, name or request.params["name"]

    def _store(self, plural: str, namespace: str | None, body: dict, previous: dict | None = None) -> dict:
        _, api_version, kind = RESOURCES[plural]
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = api_version, kind
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        meta["uid"] = previous["metadata"]["uid"] if previous else str(uuid.uuid4())
        meta["creationTimestamp"] = previous["metadata"]["creationTimestamp"] if previous else CREATED_AT
        meta["resourceVersion"] = str(next(self._versions))
        if plural == "namespaces":
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        self.objects[(plural, namespace, meta["name"])] = obj
        return obj

    def _missing_namespace(self, request: Request) -> Response | None:
        namespace = request.params.get("ns")
        if namespace and ("namespaces", None, namespace) not in self.objects:
            return Response(404, status_body(404, "NotFound", f'namespaces "{namespace}" not found', name=namespace))
        return None

    def _not_found(self, plural: str, name: str) -> Response:
        return Response(404, status_body(404, "NotFound", f'{plural} "{name}" not found', name=name, kind=plural))

    def _prefix_ok(self, request: Request) -> bool:
        plural = request.params.get("plural")
        return plural is None or RESOURCES[plural][0] == request.params.get("prefix")

    # ---- handlers ---------------------------------------------------------------------------------------------
    def version(self, request: Request) -> Response:
        return Response(
            200,
            {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.4",
                "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
                "gitTreeState": "clean",
                "buildDate": "2024-12-10T11:37:27Z",
                "goVersion": "go1.22.9",
                "compiler": "gc",
                "platform": "linux/amd64",
            },
        )

    def _list(self, plural: str, namespace: str | None, request: Request) -> Response:
        items = [obj for (p, ns, _), obj in sorted(self.objects.items()) if p == plural and ns == namespace]
        limit = request.arg("limit")
        if limit:
            items = items[: int(limit)]
        _, api_version, kind = RESOURCES[plural]
        return Response(
            200,
            {
                "kind": f"{kind}List",
                "apiVersion": api_version,
                "metadata": {"resourceVersion": str(next(self._versions))},
                "items": items,
            },
        )

    def list_namespaces(self, request: Request) -> Response:
        return self._list("namespaces", None, request)

    def list_namespaced(self, request: Request) -> Response:
        if not self._prefix_ok(request):
            return self.error(404, "the server could not find the requested resource")
        return self._missing_namespace(request) or self._list(request.params["plural"], request.params["ns"], request)

    def create(self, request: Request) -> Response:
        if not self._prefix_ok(request):
            return self.error(404, "the server could not find the requested resource")
        body: dict = request.body if isinstance(request.body, dict) else {}
        name = body.get("metadata", {}).get("name")
        if not name:
            return Response(422, status_body(422, "Invalid", "metadata.name: Required value"))
        missing = self._missing_namespace(request)
        if missing:
            return missing
        key = self._key(request, name)
        if key in self.objects:
            plural = key[0]
            return Response(
                409, status_body(409, "AlreadyExists", f'{plural} "{name}" already exists', name=name, kind=plural)
            )
        if key[0] == "rolebindings" and not body.get("roleRef"):
            return Response(422, status_body(422, "Invalid", "roleRef: Required value"))
        return Response(201, self._store(key[0], key[1], body))

    def read(self, request: Request) -> Response:
        key = self._key(request)
        obj = self.objects.get(key)
        return Response(200, obj) if obj else self._not_found(key[0], key[2])

    def replace(self, request: Request) -> Response:
        key = self._key(request)
        current = self.objects.get(key)
        if not current:
            return self._not_found(key[0], key[2])
        body = request.body if isinstance(request.body, dict) else {}
        sent_version = body.get("metadata", {}).get("resourceVersion")
        if sent_version and sent_version != current["metadata"]["resourceVersion"]:
            message = (
                f'Operation cannot be fulfilled on {key[0]} "{key[2]}": the object has been modified; '
                "please apply your changes to the latest version and try again"
            )
            return Response(409, status_body(409, "Conflict", message, name=key[2], kind=key[0]))
        if key[0] == "rolebindings" and body.get("roleRef") != current.get("roleRef"):
            return Response(422, status_body(422, "Invalid", "roleRef: Invalid value: cannot change roleRef"))
        body.setdefault("metadata", {})["name"] = key[2]
        return Response(200, self._store(key[0], key[1], body, previous=current))

    def patch(self, request: Request) -> Response:
        key = self._key(request)
        current = self.objects.get(key)
        if not current:
            return self._not_found(key[0], key[2])
        content_type = request.headers.get("content-type", "")
        if "merge-patch" not in content_type or not isinstance(request.body, dict):
            return self.error(415, f"the stub only applies merge patches, not {content_type!r}")
        merged = merge_patch(current, request.body)
        if key[0] == "rolebindings" and merged.get("roleRef") != current.get("roleRef"):
            return Response(422, status_body(422, "Invalid", "roleRef: Invalid value: cannot change roleRef"))
        merged["metadata"]["name"] = key[2]
        return Response(200, self._store(key[0], key[1], merged, previous=current))

    def delete(self, request: Request) -> Response:
        key = self._key(request)
        obj = self.objects.pop(key, None)
        if obj is None:
            return self._not_found(key[0], key[2])
        if key[0] == "namespaces":
            for other in [k for k in self.objects if k[1] == key[2]]:
                del self.objects[other]
            obj["status"] = {"phase": "Terminating"}
            return Response(200, obj)
        return Response(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": key[2], "kind": key[0], "uid": obj["metadata"]["uid"]},
            },
        )
