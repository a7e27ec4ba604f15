"""Two-factor log-in is required of the program manager, eGov DevOps and Django's staff: on by default in
production, off in the embedded demo and the tests unless set."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from requests_app.tests import factories as f

ROOT = Path(__file__).resolve().parent.parent
SHOW_SETTING = (
    "import django; django.setup(); from django.conf import settings; print(settings.PORTICO_REQUIRE_OTP_FOR_STAFF)"
)


def _setting_under(module: str, **env: str) -> str:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("PORTICO_REQUIRE_OTP_FOR_STAFF", "DEBUG")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE=module,
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="portico.example.org",
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTING], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_requires_two_factor_for_staff_unless_turned_off():
    assert _setting_under("portal.settings.production") == "True"
    assert _setting_under("portal.settings.production", PORTICO_REQUIRE_OTP_FOR_STAFF="false") == "False"


@pytest.mark.parametrize("module", ["portal.settings.base", "portal.settings.test"])
def test_the_embedded_demo_and_the_tests_leave_it_off_unless_set(module):
    assert _setting_under(module) == "False"
    assert _setting_under(module, PORTICO_REQUIRE_OTP_FOR_STAFF="true") == "True"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "flags", [{"is_staff": True}, {"is_staff": True, "is_superuser": True}, {"is_superuser": True}], ids=str
)
def test_django_staff_and_superusers_must_set_up_two_factor(world, settings, flags):
    settings.PORTICO_REQUIRE_OTP_FOR_STAFF = True
    admin = f.UserFactory(username="site-admin", **flags)
    client = Client()
    client.force_login(admin)

    for path in ("/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("otp-setup")), path
    assert client.get("/api/v1/me/").status_code == 403


@pytest.mark.django_db
def test_staff_keep_their_password_only_log_in_while_the_setting_is_off(world, settings):
    settings.PORTICO_REQUIRE_OTP_FOR_STAFF = False
    admin = f.UserFactory(username="site-admin", is_staff=True)
    client = Client()
    client.force_login(admin)

    assert client.get("/").status_code == 200
