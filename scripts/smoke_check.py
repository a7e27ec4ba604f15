"""Smoke checks against a running embedded-default Portico: health, login, API, the worker at work, and the mail
listener filing a request from an e-mail.

Run by scripts/smoke.sh; standard library only, so it works before anything else is known to."""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import smtplib
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEMO_PASSWORD = "portico-demo"  # noqa: S105 — the published demo password
DEMO_REQUESTER_EMAIL = "requester@portico.example"  # demo/world.py


class Client:
    """A tiny browser: cookies, CSRF token, JSON."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, method: str, path: str, *, data: dict | None = None, json_body: dict | None = None):
        headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html"}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if method != "GET":
            headers["X-CSRFToken"] = self.cookie("csrftoken") or ""
            headers["Referer"] = self.base + "/"
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 302 is an answer we want to see, not follow
        return None


def check(condition: bool, message: str, results: list[str]) -> None:
    results.append(("ok    " if condition else "FAILED") + " " + message)
    sys.stdout.write(results[-1] + "\n")
    sys.stdout.flush()
    if not condition:
        raise SystemExit(1)


def wait_for_health(client: Client, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.request("GET", "/healthz")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def worker_emailed(database: Path, reference: str) -> str | None:
    """When the worker e-mailed the program manager about the filed request (read straight from SQLite)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        row = db.execute(
            """SELECT d.sent_at FROM conversations_delivery d
               JOIN requests_app_requestevent e ON e.id = d.event_id
               JOIN requests_app_servicerequest r ON r.id = e.service_request_id
               JOIN portal_user u ON u.id = d.user_id
               WHERE r.reference = ? AND u.username = 'pm' AND e.kind = 'filed' AND d.channel = 'email'""",
            (reference,),
        ).fetchone()
    return row[0] if row else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--root", required=True, type=Path, help="the checkout the portal runs from")
    parser.add_argument("--log", type=Path, help="the run log, to find the e-mail the console backend printed")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--mail-port", type=int, help="the mail listener's SMTP port, to file a request by e-mail")
    args = parser.parse_args()
    results: list[str] = []
    client = Client(args.base)
    try:
        check(wait_for_health(client, args.timeout), "GET /healthz answers 200", results)
        status, body, _ = client.request("GET", "/readyz")
        check(status == 200 and json.loads(body)["broker"] == "filesystem", f"GET /readyz 200 ({body})", results)

        status, body, _ = client.request("GET", "/accounts/login/")
        check(status == 200, f"GET /accounts/login/ answers 200 (got {status})", results)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        check(token is not None, "the login page has a CSRF-protected form", results)
        status, _, headers = client.request(
            "POST",
            "/accounts/login/",
            data={"username": "requester", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        )
        check(status == 302 and "sessionid" in {c.name for c in client.jar}, f"demo login works ({status})", results)
        status, _, _ = client.request("GET", headers.get("Location", "/"))
        check(status == 200, f"the home page answers 200 after login (got {status})", results)

        status, body, _ = client.request("GET", "/api/v1/me/")
        check(
            status == 200 and json.loads(body).get("username") == "requester", "GET /api/v1/me/ as requester", results
        )
        status, body, _ = client.request("GET", "/api/v1/requests/")
        check(
            status == 200 and json.loads(body)["count"] > 0, "GET /api/v1/requests/ lists the team's requests", results
        )

        status, body, _ = client.request(
            "POST",
            "/api/v1/requests/",
            json_body={
                "title": "Smoke test: namespace for mGramSeva",
                "description": "Filed by the CI smoke run.",
                "request_type": "InfraProvision",
                "priority": "P2",
                "environment": "punjab",
                "stack": "microservices",
            },
        )
        check(status == 201, f"POST /api/v1/requests/ files a request ({status} {body[:200]})", results)
        reference = json.loads(body)["reference"]

        deadline = time.monotonic() + 60
        emailed = None
        while time.monotonic() < deadline and not emailed:
            emailed = worker_emailed(args.root / "var" / "portico.sqlite3", reference)
            time.sleep(0.5)
        check(bool(emailed), f"the worker notified the program manager about {reference} (at {emailed})", results)
        if args.log:
            log = args.log.read_text(errors="replace")
            check(f"{reference} filed" in log, "the console e-mail backend printed the e-mail", results)
        if args.mail_port:
            subject = f"Smoke test by e-mail {int(time.time())}"
            message = (
                f"From: Requester <{DEMO_REQUESTER_EMAIL}>\r\nTo: portico+punjab.troubleshooting.p2@localhost\r\n"
                f"Subject: {subject}\r\nMessage-ID: <smoke.{int(time.time())}@portico.example>\r\n\r\n"
                "Filed by the CI smoke run, over SMTP.\r\n"
            )
            with smtplib.SMTP("127.0.0.1", args.mail_port, timeout=60) as smtp:
                refused = smtp.sendmail(DEMO_REQUESTER_EMAIL, ["portico+punjab.troubleshooting.p2@localhost"], message)
            check(refused == {}, f"the mail listener accepted a message on port {args.mail_port}", results)
            query = urllib.parse.urlencode({"q": subject})
            status, body, _ = client.request("GET", f"/api/v1/requests/?{query}")
            filed = json.loads(body)["results"] if status == 200 else []
            check(
                len(filed) == 1 and filed[0]["priority"] == "P2", f"the e-mail filed a request ({body[:200]})", results
            )
    finally:
        if args.out:
            args.out.write_text("\n".join(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
