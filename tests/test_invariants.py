"""House rules that code review alone would miss: state only changes through the FSM."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "requests_app", "sla", "integrations", "jira_bridge", "provisioning")
# Seeding writes historical rows in bulk for demos and benchmarks; it is the one sanctioned exception.
EXEMPT = {"demo", "bench"}

BANNED = {
    "assigning state directly": re.compile(r"\.state\s*=[^=]"),
    "update(state=...)": re.compile(r"\.update\([^)]*\bstate\s*="),
    "bulk_update on state": re.compile(r"bulk_update\([^)]*[\"']state[\"']"),
    "raw SQL touching state": re.compile(r"(?i)update\s+\"?requests_app_servicerequest\"?\s+set[^;]*\bstate\b"),
}


def _source_files() -> list[Path]:
    files = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/tests/" in relative or "/migrations/" in relative or relative.startswith("requests_app/testing"):
                continue
            if relative in EXEMPT or relative.split("/")[0] in EXEMPT:
                continue
            files.append(path)
    return files


def test_source_files_are_found():
    assert any(p.name == "services.py" for p in _source_files())


@pytest.mark.parametrize("rule", sorted(BANNED))
def test_no_state_change_outside_the_fsm(rule):
    pattern = BANNED[rule]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _source_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == [], f"{rule} is banned; use request_transition():\n" + "\n".join(offenders)


def test_the_patterns_catch_what_they_should():
    assert BANNED["assigning state directly"].search("service_request.state = 'closed'")
    assert not BANNED["assigning state directly"].search("if service_request.state == 'closed':")
    assert BANNED["update(state=...)"].search("qs.update(state='closed')")
    assert BANNED["bulk_update on state"].search("X.objects.bulk_update(rows, ['state'])")
