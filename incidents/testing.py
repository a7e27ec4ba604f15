"""A local stand-in for the generic SMS gateway `integrations/sms.py` speaks.

`POST /messages` with `Authorization: Bearer <token>` and JSON `{to, body}` → 201 `{"id": "sms-N"}`; a wrong
token → 401; no `to` or `body` → 400. `fail("/messages", 503)` scripts the gateway's outages.
"""

from __future__ import annotations

from typing import Any

from integrations.stub_server import Request, Response, StubServer

SMS_TOKEN = "sms-test-token"  # noqa: S105  (the stub's, not a secret)


class SmsStub(StubServer):
    system = "sms"

    def __init__(self, token: str = SMS_TOKEN) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        super().__init__()

    def routes(self) -> list:
        return [("POST", r"/messages", self._post)]

    def authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def _post(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("to") or not body.get("body"):
            return Response(400, {"message": "to and body are required"})
        self.messages.append(body)
        return Response(201, {"id": f"sms-{len(self.messages)}"})
