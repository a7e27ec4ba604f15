"""The run lease, the Jira delivery sweeper and the token lifetimes per role are read from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMES = (
    "PORTICO_PROVISIONING_LEASE_SECONDS",
    "PORTICO_PROVISIONING_HEARTBEAT_SECONDS",
    "PORTICO_PROVISIONING_MAX_RESUMES",
    "PORTICO_JIRA_DELIVERY_GRACE_SECONDS",
    "PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS",
    "PORTICO_API_TOKEN_MAX_DAYS",
)
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{name: getattr(settings, name) for name in {NAMES!r}}}))"
)


def _settings_with(**variables: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in NAMES}
    env |= {"DJANGO_SETTINGS_MODULE": "portal.settings.base", **variables}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_lease_sweeper_and_token_knobs_have_their_defaults_without_the_environment():
    values = _settings_with()

    assert values["PORTICO_PROVISIONING_LEASE_SECONDS"] == 60.0
    assert values["PORTICO_PROVISIONING_HEARTBEAT_SECONDS"] == 10.0
    assert values["PORTICO_PROVISIONING_MAX_RESUMES"] == 3
    assert values["PORTICO_JIRA_DELIVERY_GRACE_SECONDS"] == 300.0
    assert values["PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS"] == 3
    assert values["PORTICO_API_TOKEN_MAX_DAYS"]["program_manager"] == 90


def test_the_lease_sweeper_and_token_knobs_are_read_from_the_environment():
    values = _settings_with(
        PORTICO_PROVISIONING_LEASE_SECONDS="90",
        PORTICO_PROVISIONING_HEARTBEAT_SECONDS="15.5",
        PORTICO_PROVISIONING_MAX_RESUMES="5",
        PORTICO_JIRA_DELIVERY_GRACE_SECONDS="600",
        PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS="4",
        PORTICO_API_TOKEN_MAX_DAYS="program_manager=30,admin=7",
    )

    assert values["PORTICO_PROVISIONING_LEASE_SECONDS"] == 90.0
    assert values["PORTICO_PROVISIONING_HEARTBEAT_SECONDS"] == 15.5
    assert values["PORTICO_PROVISIONING_MAX_RESUMES"] == 5
    assert values["PORTICO_JIRA_DELIVERY_GRACE_SECONDS"] == 600.0
    assert values["PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS"] == 4
    # The roles named are overridden; the others keep their defaults.
    assert values["PORTICO_API_TOKEN_MAX_DAYS"] == {
        "default": 365,
        "vendor_engineer": 180,
        "vendor_lead": 180,
        "program_manager": 30,
        "egov_devops": 90,
        "admin": 7,
    }
