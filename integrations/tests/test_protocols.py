"""Each system's real adapter and its dry-run twin both satisfy the system's Protocol, member by member."""

from __future__ import annotations

import inspect

import pytest

from integrations.gitlab import DryRunGitLabAdapter, GitLabAdapter, GitLabPort
from integrations.jenkins import DryRunJenkinsAdapter, JenkinsAdapter, JenkinsPort
from integrations.jira import DryRunJiraAdapter, JiraAdapter, JiraPort
from integrations.kubernetes import DryRunKubernetesAdapter, KubernetesAdapter, KubernetesPort
from integrations.registry import ADAPTERS

PORTS = [
    (KubernetesPort, KubernetesAdapter, DryRunKubernetesAdapter),
    (GitLabPort, GitLabAdapter, DryRunGitLabAdapter),
    (JenkinsPort, JenkinsAdapter, DryRunJenkinsAdapter),
    (JiraPort, JiraAdapter, DryRunJiraAdapter),
]


def members(port: type) -> list[str]:
    """The methods a Protocol lists (its own, public ones)."""
    return sorted(name for name, value in vars(port).items() if callable(value) and not name.startswith("_"))


def shape(function: object) -> list[tuple[str, str, bool]]:
    """Each parameter after `self`: its name, how it is passed, and whether it may be left out."""
    parameters = list(inspect.signature(function).parameters.values())[1:]  # type: ignore[arg-type]
    return [(p.name, p.kind.name, p.default is not inspect.Parameter.empty) for p in parameters]


def mismatches(port: type, implementation: type) -> list[str]:
    """How `implementation` differs from `port`: a missing method, or one called differently."""
    found = []
    for name in members(port):
        method = getattr(implementation, name, None)
        if not callable(method):
            found.append(f"{implementation.__name__} has no {name}()")
        elif shape(method) != shape(getattr(port, name)):
            found.append(f"{implementation.__name__}.{name}{inspect.signature(method)} differs from {port.__name__}")
    return found


@pytest.mark.parametrize(("port", "real", "twin"), PORTS, ids=[port.__name__ for port, _, _ in PORTS])
def test_the_adapter_and_its_twin_both_satisfy_the_protocol(port, real, twin):
    assert "check" in members(port)
    assert mismatches(port, real) == []
    assert mismatches(port, twin) == []


def test_the_registry_hands_out_exactly_these_pairs():
    assert {(entry.real, entry.twin) for entry in ADAPTERS.values()} == {(real, twin) for _, real, twin in PORTS}


def test_a_missing_method_or_a_renamed_parameter_is_caught():
    class Drifted:
        def transition_to(self, issue_key: str, status_name: str) -> None: ...  # `key` renamed

        def add_comment(self, key: str, body: str = "") -> None: ...  # body became optional

    found = mismatches(JiraPort, Drifted)

    assert "Drifted has no create_issue()" in found
    assert any(line.startswith("Drifted.transition_to(") for line in found)
    assert any(line.startswith("Drifted.add_comment(") for line in found)
