"""get_adapter picks the real adapter or its dry-run twin."""

from __future__ import annotations

import pytest

from integrations.config import GitLabConfig, JenkinsConfig, JiraConfig, KubernetesConfig
from integrations.dryrun import DryRunRecorder
from integrations.gitlab import GitLabAdapter
from integrations.jenkins import DryRunJenkinsAdapter, JenkinsAdapter
from integrations.jira import JiraAdapter
from integrations.kubernetes import DryRunKubernetesAdapter, KubernetesAdapter
from integrations.registry import SYSTEMS, get_adapter


def test_without_a_config_every_system_gets_its_dry_run_twin():
    recorder = DryRunRecorder()
    adapters = {system: get_adapter(system, recorder=recorder) for system in SYSTEMS}

    assert isinstance(adapters["kubernetes"], DryRunKubernetesAdapter)
    assert all(a.recorder is recorder for a in adapters.values())
    assert all(a.check().dry_run for a in adapters.values())


@pytest.mark.parametrize(
    ("system", "config", "expected"),
    [
        ("kubernetes", KubernetesConfig("https://k8s.example", "t0ken-value"), KubernetesAdapter),
        ("gitlab", GitLabConfig("https://gitlab.example", "t0ken-value"), GitLabAdapter),
        ("jenkins", JenkinsConfig("https://jenkins.example", "bot", "t0ken-value"), JenkinsAdapter),
        ("jira", JiraConfig("https://jira.example", pat="t0ken-value", project_key="OPS"), JiraAdapter),
    ],
)
def test_with_a_config_the_real_adapter_is_built_without_any_http(system, config, expected):
    adapter = get_adapter(system, config)

    assert isinstance(adapter, expected)
    assert "t0ken-value" not in repr(adapter) and "t0ken-value" not in repr(config)


def test_a_config_for_another_system_is_refused():
    with pytest.raises(TypeError, match="jenkins needs a JenkinsConfig"):
        get_adapter("jenkins", GitLabConfig("https://gitlab.example", "t"))


def test_an_unknown_system_is_refused():
    with pytest.raises(ValueError, match="Unknown system 'argo'"):
        get_adapter("argo")


def test_recorder_is_optional():
    assert isinstance(get_adapter("jenkins").recorder, DryRunRecorder)
    assert isinstance(get_adapter("jenkins"), DryRunJenkinsAdapter)
