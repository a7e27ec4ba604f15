"""Local stand-ins for Slack's and Microsoft Teams' incoming webhooks, speaking their formats and answers.

Slack (`POST /services/T…/B…/…`): JSON with `text` and/or `blocks` → 200 `ok`; no text → 400 `no_text`; a removed
webhook → 404 `no_service`; rate limited → 429 with `Retry-After`; a fault → 500 `rollup_error`.
Teams (`POST /webhookb2/…/IncomingWebhook/…/…`): a MessageCard (`@type`, `text` or `summary`) or a message with
an Adaptive Card attachment → 200 `1`; anything else → 400. Scripted answers (`answer_next`) come first.
`hold_next` keeps the next post waiting until the test lets it go: a sender caught mid-post, for races.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from integrations.stub_server import Request, Response, StubServer

SLACK_PATH = "/services/T0PORTICO/B0PORTICO/abcdefghijklmnopqrstuvwx"
TEAMS_PATH = "/webhookb2/0000-portico@0000/IncomingWebhook/abcdef0123456789/0000-portico"


HOLD_DEADLINE_SECONDS = 10.0  # a held post answers by itself after this, so a failing test cannot hang


@dataclass
class Hold:
    """A post kept waiting: `arrived` is set when it reaches the stub, `release()` lets it be answered."""

    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class _ChatStub(StubServer):
    def __init__(self) -> None:
        super().__init__()
        self.scripted: list[Response] = []
        self.accepted: list[Any] = []
        self.holds: list[Hold] = []

    def hold_next(self) -> Hold:
        """The next post waits, before it is answered, until the returned hold is released."""
        hold = Hold()
        self.holds.append(hold)
        return hold

    def answer_next(self, status: int, body: str, *, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """The next `times` posts get this answer instead of being accepted."""
        self.scripted.extend(
            Response(status, body, {"Content-Type": "text/plain", **(headers or {})}) for _ in range(times)
        )

    def authorised(self, request: Request) -> bool:
        return True  # the secret is the URL itself

    def error(self, status: int, message: str) -> Response:
        return Response(status, message, {"Content-Type": "text/plain"})

    def _answer(self, request: Request, valid: bool, ok: str, bad: str) -> Response:
        if self.holds:
            hold = self.holds.pop(0)
            hold.arrived.set()
            hold.released.wait(HOLD_DEADLINE_SECONDS)
        if self.scripted:
            return self.scripted.pop(0)
        if not valid:
            return Response(400, bad, {"Content-Type": "text/plain"})
        self.accepted.append(request.body)
        return Response(200, ok, {"Content-Type": "text/plain"})


class SlackStub(_ChatStub):
    system = "slack"

    @property
    def webhook_url(self) -> str:
        return self.url + SLACK_PATH

    def routes(self) -> list:
        return [("POST", r"/services/T\w+/B\w+/\w+", self._post)]

    def _post(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        return self._answer(request, bool(body.get("text") or body.get("blocks")), "ok", "no_text")


class TeamsStub(_ChatStub):
    system = "teams"

    @property
    def webhook_url(self) -> str:
        return self.url + TEAMS_PATH

    def routes(self) -> list:
        return [("POST", r"/webhookb2/[^/]+/IncomingWebhook/\w+/[^/]+", self._post)]

    def _post(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        card = body.get("@type") == "MessageCard" and bool(body.get("text") or body.get("summary"))
        adaptive = body.get("type") == "message" and any(
            a.get("contentType") == "application/vnd.microsoft.card.adaptive" for a in body.get("attachments", [])
        )
        return self._answer(request, card or adaptive, "1", "Bad payload received by generic incoming webhook.")
