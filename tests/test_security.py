"""Security: log-in lockout, two-factor for staff, the Content-Security-Policy (in a real browser too), production
settings that pass `check --deploy`, no secrets in the repository, and an audit trail nothing can change."""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from demo import seed
from portal.tokens import api_token_create
from requests_app.choices import RequestState, RequestType
from requests_app.models import AppendOnlyError, RequestEvent
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "portico-pass-123"  # the factories' password
LOGIN = "/accounts/login/"


# --- log-in lockout (django-axes) ----------------------------------------------------------------------------
def _log_in(client: Client, username: str, password: str, **extra: str):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _fail_five_times(client: Client, username: str, **extra: str):
    responses = [_log_in(client, username, "wrong-password-1", **extra) for _ in range(5)]
    assert [r.status_code for r in responses[:4]] == [200] * 4  # the form again, with its error
    return responses[-1]


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_even_against_the_right_password(world):
    client = Client()
    fifth = _fail_five_times(client, world.requester.username)
    assert fifth.status_code == 429
    assert "Too many failed log-ins" in fifth.content.decode()

    response = _log_in(client, world.requester.username, PASSWORD)

    assert response.status_code == 429  # a clear page, not a 500 and not a log-in
    page = response.content.decode()
    assert "Log-in is blocked for now" in page and "15 minutes" in page
    assert 'name="username"' in page  # still the login page, with its form
    assert not _logged_in(client)


@pytest.mark.django_db
def test_a_lockout_leaves_other_users_and_other_addresses_alone(world):
    client = Client()
    _fail_five_times(client, world.requester.username)

    other_user = _log_in(Client(), world.other_requester.username, PASSWORD)
    same_user_elsewhere = _log_in(Client(), world.requester.username, PASSWORD, REMOTE_ADDR="10.1.2.3")

    assert other_user.status_code == 302 and other_user["Location"] == reverse("home")
    assert same_user_elsewhere.status_code == 302


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(world):
    _fail_five_times(Client(), world.requester.username)
    assert _log_in(Client(), world.requester.username, PASSWORD).status_code == 429

    with time_machine.travel(timedelta(minutes=16)):
        client = Client()
        response = _log_in(client, world.requester.username, PASSWORD)

    assert response.status_code == 302 and _logged_in(client)


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_escape_a_lockout(world):
    _fail_five_times(Client(), world.requester.username)

    response = _log_in(Client(), world.requester.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert response.status_code == 429  # no trusted proxy configured: the header is the client's own words


@pytest.mark.django_db
def test_behind_a_trusted_proxy_failures_count_against_the_real_client(world, settings):
    settings.PORTICO_PROXY_COUNT = 1
    # The proxy appends the address it saw; the client may have forged entries to the left of it.
    _fail_five_times(Client(), world.requester.username, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"

    locked = _log_in(Client(), world.requester.username, PASSWORD, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9")
    other_client = _log_in(Client(), world.requester.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10")

    assert locked.status_code == 429
    assert other_client.status_code == 302


@pytest.mark.django_db
def test_wrong_api_tokens_lock_nobody_out(world):
    api = APIClient()
    for attempt in range(8):
        response = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer pt_wrong{attempt}")
        assert response.status_code == 401

    assert not AccessAttempt.objects.exists()
    assert _log_in(Client(), world.requester.username, PASSWORD).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short1", "1234567890123", "password12345", "asha-portico"])
def test_weak_passwords_are_refused(password):
    user = f.UserFactory.build(username="asha-portico", first_name="Asha")
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_strong_password_passes():
    assert validate_password("correct horse battery staple") is None  # raises ValidationError if refused


# --- two-factor (django-otp) ---------------------------------------------------------------------------------
def _code(device: TOTPDevice, offset: int = 0) -> str:
    """The code the person's app shows now (`offset` steps away), computed from the device's own key."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift + offset)
    return f"{value:0{device.digits}d}"


def _wrong_code(device: TOTPDevice) -> str:
    """A code no step within the device's tolerance accepts."""
    valid = {_code(device, offset) for offset in range(-device.tolerance - 1, device.tolerance + 2)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 999999, 111)) if code not in valid)


def _confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.mark.django_db
def test_staff_with_an_authenticator_must_give_a_code_before_any_page(world):
    device = _confirmed_device(world.pm)
    client = Client()
    assert _log_in(client, world.pm.username, PASSWORD).status_code == 302

    for path in ("/", "/triage/", f"/requests/{file_request(world).reference}/", "/reports/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("otp-verify") + "?next="), path

    page = client.get(reverse("otp-verify"))
    assert page.status_code == 200 and "Enter your two-factor code" in page.content.decode()

    response = client.post(reverse("otp-verify"), {"token": _code(device), "next": "/triage/"})

    assert response.status_code == 302 and response["Location"] == "/triage/"
    assert client.get("/triage/").status_code == 200
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_the_gate_stays_shut(world):
    device = _confirmed_device(world.approver)
    client = Client()
    client.force_login(world.approver)

    response = client.post(reverse("otp-verify"), {"token": _wrong_code(device), "next": "/"})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert client.get("/approvals/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows down guessing


@pytest.mark.django_db
def test_htmx_requests_of_an_unverified_session_are_sent_to_the_verify_page(world):
    _confirmed_device(world.pm)
    client = Client()
    client.force_login(world.pm)

    response = client.get("/", HTTP_HX_REQUEST="true")

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("otp-verify"))


@pytest.mark.django_db
def test_the_api_refuses_an_unverified_session_but_not_a_token(world):
    _confirmed_device(world.pm)
    _, key = api_token_create(user=world.pm, name="automation")
    client = Client()
    client.force_login(world.pm)

    session_call = client.get("/api/v1/me/")
    token_call = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert session_call.status_code == 403
    assert session_call.json()["error"]["code"] == "forbidden"
    assert "two-factor" in session_call.json()["error"]["message"]
    assert token_call.status_code == 200 and token_call.json()["username"] == world.pm.username


@pytest.mark.django_db
def test_a_verified_session_uses_the_api(world):
    device = _confirmed_device(world.pm)
    client = Client()
    client.force_login(world.pm)
    client.post(reverse("otp-verify"), {"token": _code(device)})

    assert client.get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_people_without_an_authenticator_are_not_asked_by_default(world):
    for user in (world.requester, world.pm, world.vendor_engineer):
        client = Client()
        client.force_login(user)
        assert client.get("/").status_code == 200, user
        assert client.get("/api/v1/me/").status_code == 200, user


@pytest.mark.django_db
def test_requiring_two_factor_sends_staff_to_set_up_and_leaves_requesters_alone(world, settings):
    settings.PORTICO_REQUIRE_OTP_FOR_STAFF = True
    requester = Client()
    requester.force_login(world.requester)
    assert requester.get("/").status_code == 200

    client = Client()
    client.force_login(world.approver)
    response = client.get("/approvals/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp-setup"))
    assert client.get("/api/v1/me/").status_code == 403
    assert client.get(reverse("otp-verify"))["Location"].startswith(reverse("otp-setup"))

    page = client.get(reverse("otp-setup"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "otpauth://totp/Portico" in html
    secret = re.search(r'<code id="otp-secret">([A-Z2-7]{32})</code>', html).group(1)
    assert secret in client.get(reverse("otp-setup")).content.decode()  # a reload keeps the same secret
    assert not TOTPDevice.objects.filter(user=world.approver).exists()  # nothing saved before confirming
    app = TOTPDevice(key=base64.b32decode(secret).hex())  # what the person's authenticator app now holds
    assert client.post(reverse("otp-setup"), {"token": _wrong_code(app)}).status_code == 400

    response = client.post(reverse("otp-setup"), {"token": _code(app), "next": "/approvals/"})

    assert response.status_code == 302 and response["Location"] == "/approvals/"
    device = TOTPDevice.objects.get(user=world.approver)
    assert device.confirmed and device.key == app.key
    assert client.get("/approvals/").status_code == 200  # the set-up verified this session
    assert "Two-factor log-in is on" in client.get(reverse("otp-setup")).content.decode()


@pytest.mark.django_db
def test_the_verify_page_is_a_no_op_without_an_authenticator(world):
    client = Client()
    client.force_login(world.requester)

    response = client.get(reverse("otp-verify"), {"next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == reverse("home")  # never off-site


# --- Content-Security-Policy ---------------------------------------------------------------------------------
def _directives(header: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.django_db
def test_every_page_carries_a_strict_policy(world):
    client = Client()
    client.force_login(world.requester)
    policy = _directives(client.get("/")["Content-Security-Policy"])

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in Client().get(LOGIN)["Content-Security-Policy"]


@pytest.mark.django_db
def test_only_the_api_docs_relax_the_policy_and_never_for_scripts(world):
    docs = _directives(Client().get("/api/docs/")["Content-Security-Policy"])

    assert "'unsafe-inline'" in docs["style-src"]
    assert docs["script-src"] == ["'self'"]
    assert docs["frame-ancestors"] == ["'none'"]


def test_templates_have_no_inline_script_style_or_event_handlers():
    offenders = []
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|\shx-on[:-]|javascript:", re.I)
    for path in (ROOT / "templates").rglob("*.html"):
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in inline.finditer(path.read_text())]
    assert not offenders


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ALL_TYPES_AGREE = """() => {
  const type = document.getElementById("id_request_type").value;
  const groups = [...document.querySelectorAll("[data-request-types]")];
  return groups.length > 0 && groups.some(g => g.hidden)
    && groups.every(g => g.hidden === !g.dataset.requestTypes.split(" ").includes(type));
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_ui_and_the_api_docs_work_under_the_policy_in_a_real_browser(live_server, world):
    from playwright.sync_api import expect, sync_playwright

    reference = file_request(world).reference  # the ORM only outside Playwright's event loop
    violations: list[str] = []
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(base_url=live_server.url).new_page()
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            page.goto(LOGIN)
            page.get_by_label("Username").fill(world.requester.username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("button", name="Log out")).to_be_visible()  # home

            page.goto("/requests/new/")
            for request_type in ("AccessOps", "InfraProvision", "Troubleshooting"):
                page.get_by_label("Request type").select_option(request_type)
                assert page.evaluate(ALL_TYPES_AGREE), request_type  # portico.js showed the matching fields
            page.get_by_label("Environment").select_option(label="Punjab")
            page.get_by_label("Priority").select_option("P4")  # htmx checks the needed-by rule inline
            expect(page.locator("#field-needed_by .field-error")).to_contain_text("Required for P4")

            page.goto(f"/requests/{reference}/")
            expect(page.get_by_test_id("state")).to_have_text("Submitted")
            page.get_by_label("Comment").fill("Checked under the Content-Security-Policy.")
            page.get_by_role("button", name="Add comment").click()  # htmx swaps the timeline in place
            expect(page.locator("#timeline")).to_contain_text("Checked under the Content-Security-Policy.")

            page.goto("/api/docs/")
            expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=20_000)
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Portico API")
        finally:
            browser.close()

    assert not violations, violations
    assert not page_errors, page_errors


# --- production settings and secrets -------------------------------------------------------------------------
def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portico.example.org",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy_without_a_single_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key_from_the_environment():
    result = _manage("check", env=_production_env(SECRET_KEY=""))

    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


SKIP_DIRS = {".git", ".venv", "var", "node_modules", "staticfiles", ".hypothesis", ".ruff_cache", "artifacts", "out"}
TEXT_SUFFIXES = {".py", ".sh", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".json", ".md", ".html", ".js", ".css", ".txt"}
TEXT_NAMES = {"Dockerfile", "Makefile", ".env.example", "run"}
# Credentials that are never acceptable anywhere, tests included.
KEY_MATERIAL = re.compile(
    r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY-----"
    r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b"  # GitHub token
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack token
    r"|\bglpat-[A-Za-z0-9_-]{20,}"  # GitLab personal access token
    r"|\bAIza[0-9A-Za-z_-]{35}\b"  # Google API key
)
# In code outside tests and the published demo logins: a password or secret written as a literal.
LITERAL_SECRET = re.compile(
    r"""(?ix)\b(?:password|passwd|secret_key|secret|api_key|token)\s*=\s*["'][^"'\s{}$%]{6,}["']"""
)
DEMO_FILES = {"demo/world.py", "scripts/smoke_check.py"}


def _repository_text_files():
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP_DIRS or any(part.endswith(".egg-info") for part in parts) or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            yield path.relative_to(ROOT).as_posix(), path.read_text(errors="replace")


def test_no_secret_is_committed_to_the_repository():
    leaks = []
    for name, text in _repository_text_files():
        leaks += [f"{name}: {m.group(0)[:40]}" for m in KEY_MATERIAL.finditer(text)]
        in_tests = name.startswith("tests/") or "/tests/" in name or "/testing/" in name
        if name.endswith(".py") and not in_tests and name not in DEMO_FILES:
            leaks += [f"{name}: {m.group(0)}" for m in LITERAL_SECRET.finditer(text)]
    assert not leaks


def test_the_secret_scan_catches_what_it_is_for():
    # Assembled here so that this file does not trip the scan itself.
    assert KEY_MATERIAL.search("-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE")
    assert KEY_MATERIAL.search("aws_access_key_id = AKIA" + "ABCDEFGHIJKLMNOP")
    assert LITERAL_SECRET.search('client = Jira(url, password="hunter2-prod")')
    assert not LITERAL_SECRET.search('password = env("JIRA_PASSWORD")')


# --- the audit trail cannot change -----------------------------------------------------------------------------
pg_only = pytest.mark.postgres  # the trigger exists on PostgreSQL only


@pytest.fixture
def event(world) -> RequestEvent:
    return walk_to(world, RequestState.QUEUED).events.order_by("pk").last()


@pg_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE requests_app_requestevent SET message = 'rewritten' WHERE id = %s",
        "UPDATE requests_app_requestevent SET actor_id = NULL WHERE id = %s",
        "DELETE FROM requests_app_requestevent WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_event(event, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])

    event.refresh_from_db()
    assert event.message != "rewritten" and event.kind == "triage"


@pg_only
@pytest.mark.django_db
def test_even_the_orm_going_around_its_own_guard_is_stopped(event):
    with pytest.raises(AppendOnlyError):
        RequestEvent.objects.filter(pk=event.pk).update(message="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        RequestEvent.objects.filter(pk=event.pk)._raw_delete(using=connection.alias)
    assert RequestEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_the_demo_reset_still_empties_the_timeline(world):
    walk_to(world, RequestState.IN_PROGRESS)
    assert RequestEvent.objects.exists()

    seed.demo_requests_wipe()

    assert not RequestEvent.objects.exists()


@pytest.mark.django_db
def test_the_admin_shows_events_read_only(event):
    admin = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    change_url = reverse("admin:requests_app_requestevent_change", args=[event.pk])

    page = client.get(change_url)
    posted = client.post(change_url, {"kind": "comment", "message": "rewritten"})
    delete_page = client.get(reverse("admin:requests_app_requestevent_delete", args=[event.pk]))
    add_page = client.get(reverse("admin:requests_app_requestevent_add"))

    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r'<(?:input|textarea|select)[^>]*name="(?!csrfmiddlewaretoken)', html)
    assert 'name="_save"' not in html
    assert posted.status_code == 403
    assert delete_page.status_code == 403
    assert add_page.status_code == 403
    event.refresh_from_db()
    assert event.message != "rewritten"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_api_offers_no_way_to_change_events(world, method):
    service_request = walk_to(world, RequestState.QUEUED, request_type=RequestType.INFRA_PROVISION)
    api = APIClient()
    api.force_authenticate(world.pm)
    url = f"/api/v1/requests/{service_request.reference}/events/"

    response = getattr(api, method)(url, {"message": "rewritten"}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert not service_request.events.filter(message="rewritten").exists()


def test_production_needs_a_broker_but_not_redis_when_rabbitmq_is_the_broker():
    rabbitmq_only = _manage(
        "check", env=_production_env(REDIS_URL="", CELERY_BROKER_URL="amqp://portico:secret@rabbitmq:5672/portico")
    )
    neither = _manage("check", env=_production_env(REDIS_URL="", CELERY_BROKER_URL=""))

    assert rabbitmq_only.returncode == 0, rabbitmq_only.stdout + rabbitmq_only.stderr
    assert neither.returncode != 0
    assert "CELERY_BROKER_URL or REDIS_URL must be set in production" in neither.stderr
