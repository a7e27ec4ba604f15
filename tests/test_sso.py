"""Single sign-on end to end: Portico's live server against a real OpenID provider started for these tests.

The provider is a small django-oauth-toolkit site (tests/oidc_provider/) run in a subprocess with its own SQLite
database and an RSA key made here. A `requests` session plays the browser: Portico's log-in page, "Sign in with
SSO", the provider's log-in and consent forms, the code sent back to Portico, which exchanges it over HTTP, checks
the ID token and signs the person in with the roles their groups map to. The provider can be told to spoil the ID
token in one way at a time; Portico must refuse each.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group

from portal.models import SsoIdentity, User
from requests_app import services
from requests_app.choices import RequestState
from requests_app.roles import PROGRAM_MANAGERS
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db(transaction=True)  # the live server's threads must see committed rows

SERVE = Path(__file__).resolve().parent / "oidc_provider" / "serve.py"
CLIENT_ID = "portico"
CLIENT_SECRET = "portico-client-secret-for-tests"
PASSWORD = "provider-pass-4721"
TIMEOUT = 20  # seconds for any one HTTP call
STARTUP_DEADLINE = 90  # seconds for the provider to migrate and listen, on a busy machine
REFUSED = "Single sign-on did not work"
GROUP_MAP = {
    "portico-pm": "program_manager",
    "portico-egov": "egov_devops",
    "mgramseva-devs": "team:mgramseva",
    "optit-engineers": "vendor:optit:engineer",
    "gwl-engineers": "vendor:gwl:engineer",
}
PEOPLE = {
    "priya": ["portico-pm", "unrelated-group"],
    "olu": ["optit-engineers"],
    "ravi": ["mgramseva-devs"],
    "two-vendors": ["optit-engineers", "gwl-engineers"],
    "mallory": ["nothing-mapped"],
}


# --- the provider --------------------------------------------------------------------------------------------
def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _read_line(process: subprocess.Popen, deadline: float) -> str:
    """The provider's first line on stdout, waiting no later than `deadline` (a time.monotonic() value)."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(timeout=remaining):
            raise TimeoutError("the OpenID provider did not start in time")
        return process.stdout.readline().decode()


@dataclass
class Provider:
    url: str
    discovery: dict[str, Any]

    def control(self, **body: Any) -> None:
        requests.post(f"{self.url}/control/", json=body, timeout=TIMEOUT).raise_for_status()


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory) -> Iterator[Provider]:
    folder = tmp_path_factory.mktemp("oidc-provider")
    spec = {
        "database": str(folder / "provider.sqlite3"),
        "rsa_private_key": _rsa_pem(),
        "foreign_private_key": _rsa_pem(),
        "client": {
            "id": CLIENT_ID,
            "secret": CLIENT_SECRET,
            "redirect_uri": f"{live_server.url}/accounts/sso/callback/",
        },
        "users": [
            {"username": name, "email": f"{name}@example.org", "password": PASSWORD, "groups": groups}
            | ({"first_name": "Priya", "last_name": "Nair"} if name == "priya" else {})
            for name, groups in PEOPLE.items()
        ],
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    log_path = folder / "provider.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(SERVE), str(folder / "spec.json")], stdout=subprocess.PIPE, stderr=log, env=env
        )
    try:
        line = _read_line(process, time.monotonic() + STARTUP_DEADLINE)
        match = re.fullmatch(r"listening on (\d+)\n", line)
        assert match, f"the provider said {line!r}; its log:\n{log_path.read_text()}"
        url = f"http://127.0.0.1:{match[1]}"
        discovery = requests.get(f"{url}/o/.well-known/openid-configuration", timeout=TIMEOUT).json()
        yield Provider(url=url, discovery=discovery)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()


@pytest.fixture
def sso(settings, provider) -> Provider:
    """Portico configured as an operator would, from the provider's discovery document."""
    discovery = provider.discovery
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_ISSUER = discovery["issuer"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = discovery["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = discovery["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = discovery["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = discovery["jwks_uri"]
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.PORTICO_SSO_ENABLED = True
    settings.PORTICO_SSO_GROUP_MAP = GROUP_MAP
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "requests_app.sso.SsoBackend"]
    yield provider
    provider.control(fault=None)


# --- the browser ---------------------------------------------------------------------------------------------
class Forms(HTMLParser):
    """The forms of a page: action, and each named input as (name, value, type)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "inputs": []})
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            kind = attributes.get("type", "submit" if tag == "button" else "text")
            self.forms[-1]["inputs"].append((attributes["name"], attributes.get("value", ""), kind))


def submit(http: requests.Session, page: requests.Response, values: dict[str, str], button: str = "") -> Any:
    """Fill in and post the page's one form with a POST method, clicking `button` (by name) if given."""
    parser = Forms()
    parser.feed(page.text)
    assert len(parser.forms) == 1, f"expected one form at {page.url}: {page.text[:2000]}"
    form = parser.forms[0]
    data = {name: value for name, value, kind in form["inputs"] if kind != "submit" or name == button}
    data.update(values)
    return http.post(urljoin(page.url, form["action"]) or page.url, data=data, timeout=TIMEOUT)


def sso_sign_in(portico: str, provider: Provider, username: str, next_path: str = "/") -> tuple[Any, Any]:
    """Start at Portico's log-in page, sign in at the provider, allow Portico, and return where it ended."""
    http = requests.Session()
    login_page = http.get(f"{portico}/accounts/login/", params={"next": next_path}, timeout=TIMEOUT)
    link = re.search(r'<a class="button" href="([^"]+)">Sign in with SSO</a>', login_page.text)
    assert link, "the log-in page offers no single sign-on"
    provider_login = http.get(urljoin(login_page.url, unescape(link[1])), timeout=TIMEOUT)
    assert provider_login.url.startswith(f"{provider.url}/accounts/login/"), provider_login.url
    consent = submit(http, provider_login, {"username": username, "password": PASSWORD})
    assert "Authorize Portico?" in consent.text, consent.text[:2000]
    landed = submit(http, consent, {}, button="allow")
    return http, landed


def path_of(response: Any) -> str:
    return urlsplit(response.url).path


# --- signing in ----------------------------------------------------------------------------------------------
def test_a_program_manager_signs_in_with_sso_and_can_triage(live_server, sso, world):
    file_request(world, title="Waiting for the PM")

    http, landed = sso_sign_in(live_server.url, sso, "priya", next_path="/triage/")

    assert (landed.status_code, path_of(landed)) == (200, "/triage/")
    assert "Waiting for the PM" in landed.text
    user = User.objects.get(username="priya")
    assert (user.email, user.get_full_name()) == ("priya@example.org", "Priya Nair")
    assert list(user.groups.values_list("name", flat=True)) == [PROGRAM_MANAGERS]
    assert not user.has_usable_password()
    assert not (user.is_staff or user.is_superuser)
    identity = SsoIdentity.objects.get(user=user)
    assert identity.issuer == sso.discovery["issuer"] and identity.last_login_at is not None
    assert http.get(f"{live_server.url}/approvals/", timeout=TIMEOUT).status_code == 403  # PM, not eGov DevOps


def test_a_vendor_engineer_from_sso_sees_only_their_vendors_queue(live_server, sso, world):
    ours = walk_to(world, RequestState.QUEUED, title="OptIT work")
    theirs = services.request_triage(
        file_request(world, title="GWL work", actor=world.other_requester), actor=world.pm, vendor=world.vendor_b
    )

    http, landed = sso_sign_in(live_server.url, sso, "olu", next_path="/queue/")

    assert (landed.status_code, path_of(landed)) == (200, "/queue/")
    assert ours.reference in landed.text and "OptIT work" in landed.text
    assert theirs.reference not in landed.text and "GWL work" not in landed.text
    user = User.objects.get(username="olu")
    assert (user.vendor, user.vendor_role) == (world.vendor_a, "engineer")
    assert not user.groups.exists()
    assert http.get(f"{live_server.url}/requests/{theirs.reference}/", timeout=TIMEOUT).status_code == 404
    assert http.get(f"{live_server.url}/triage/", timeout=TIMEOUT).status_code == 403


def test_a_team_member_from_sso_sees_their_teams_requests(live_server, sso, world):
    ours = file_request(world, title="mGramSeva request")
    theirs = file_request(world, title="Sanitation request", actor=world.other_requester)

    http, landed = sso_sign_in(live_server.url, sso, "ravi")

    assert (landed.status_code, path_of(landed)) == (200, "/")
    user = User.objects.get(username="ravi")
    assert list(user.teams.all()) == [world.team_a]
    assert http.get(f"{live_server.url}/requests/{ours.reference}/", timeout=TIMEOUT).status_code == 200
    assert http.get(f"{live_server.url}/requests/{theirs.reference}/", timeout=TIMEOUT).status_code == 404


def test_each_sso_log_in_updates_the_same_user_from_the_provider(live_server, sso, world):
    sso_sign_in(live_server.url, sso, "priya")
    first = User.objects.get(username="priya")
    sso.control(groups={"priya": ["mgramseva-devs"]})  # no longer the PM at the provider; joined a team

    _, landed = sso_sign_in(live_server.url, sso, "priya", next_path="/triage/")

    assert landed.status_code == 403  # signed in, but the triage inbox is no longer hers
    assert User.objects.filter(email="priya@example.org").count() == 1
    user = User.objects.get(username="priya")
    assert user.pk == first.pk
    assert not user.groups.exists()
    assert list(user.teams.all()) == [world.team_a]
    sso.control(groups={"priya": PEOPLE["priya"]})


def test_a_local_account_with_the_same_username_is_not_taken_over(live_server, sso, world):
    local = User.objects.create_user("priya", email="priya@example.org", password="local-pass-9931")
    local.groups.add(Group.objects.get_or_create(name="Local only")[0])

    sso_sign_in(live_server.url, sso, "priya")

    sso_user = SsoIdentity.objects.get(issuer=sso.discovery["issuer"]).user
    assert sso_user.pk != local.pk and sso_user.username.startswith("priya-")
    local.refresh_from_db()
    assert local.check_password("local-pass-9931") and not local.sso_identities.exists()


# --- refusals ------------------------------------------------------------------------------------------------
def assert_refused(live_server, http, landed, username: str) -> None:
    assert (landed.status_code, path_of(landed)) == (200, "/accounts/login/")
    assert REFUSED in landed.text
    assert not User.objects.filter(username__startswith=username).exists()
    assert not SsoIdentity.objects.exists()
    follow_up = http.get(f"{live_server.url}/triage/", allow_redirects=False, timeout=TIMEOUT)
    assert follow_up.status_code == 302 and follow_up.headers["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("fault", ["wrong-audience", "wrong-issuer", "expired", "foreign-key", "unsigned", "edited"])
def test_an_id_token_that_fails_a_check_is_refused(live_server, sso, world, fault):
    sso.control(fault=fault)

    http, landed = sso_sign_in(live_server.url, sso, "mallory", next_path="/triage/")

    assert_refused(live_server, http, landed, "mallory")


def test_claims_that_name_two_vendors_are_refused(live_server, sso, world):
    http, landed = sso_sign_in(live_server.url, sso, "two-vendors")

    assert_refused(live_server, http, landed, "two-vendors")


def test_a_forged_callback_is_refused_without_an_error_page(live_server, sso):
    http = requests.Session()

    landed = http.get(f"{live_server.url}/accounts/sso/callback/?code=forged&state=forged", timeout=TIMEOUT)

    assert (landed.status_code, path_of(landed)) == (200, "/accounts/login/")
    assert REFUSED in landed.text


# --- beside the password log-in ------------------------------------------------------------------------------
def test_password_lockout_still_works_with_sso_on(client, sso, world, settings):
    world.requester.set_password(PASSWORD)
    world.requester.save()
    assert b"Sign in with SSO" in client.get("/accounts/login/").content
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "asha", "password": "wrong"})

    locked = client.post("/accounts/login/", {"username": "asha", "password": PASSWORD})

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_password_log_in_works_with_sso_on(client, sso, world):
    world.requester.set_password(PASSWORD)
    world.requester.save()

    response = client.post("/accounts/login/?code=stray&state=stray", {"username": "asha", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == "portal.auth_backends.PortalModelBackend"


def test_the_log_in_page_offers_no_sso_and_its_urls_answer_404_when_it_is_off(client, db):
    assert b"Sign in with SSO" not in client.get("/accounts/login/").content
    assert client.get("/accounts/sso/login/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=x&state=y").status_code == 404
