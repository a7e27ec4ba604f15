"""Pick the adapter for a system: the real one when a connection is configured, its dry-run twin otherwise."""

from __future__ import annotations

from typing import Any

from integrations.config import GitLabConfig, JenkinsConfig, JiraConfig, KubernetesConfig
from integrations.dryrun import (
    DryRunGitLabAdapter,
    DryRunJenkinsAdapter,
    DryRunJiraAdapter,
    DryRunKubernetesAdapter,
    DryRunRecorder,
)
from integrations.gitlab import GitLabAdapter
from integrations.jenkins import JenkinsAdapter
from integrations.jira import JiraAdapter
from integrations.kubernetes import KubernetesAdapter

# system -> (config class, real adapter, dry-run twin)
ADAPTERS: dict[str, tuple[type, type, type]] = {
    "kubernetes": (KubernetesConfig, KubernetesAdapter, DryRunKubernetesAdapter),
    "gitlab": (GitLabConfig, GitLabAdapter, DryRunGitLabAdapter),
    "jenkins": (JenkinsConfig, JenkinsAdapter, DryRunJenkinsAdapter),
    "jira": (JiraConfig, JiraAdapter, DryRunJiraAdapter),
}
SYSTEMS = tuple(ADAPTERS)


def get_adapter(system: str, config: Any = None, *, recorder: DryRunRecorder | None = None) -> Any:
    """The real adapter for `system` over `config`, or its dry-run twin (recording into `recorder`) when None."""
    try:
        config_class, real, twin = ADAPTERS[system]
    except KeyError:
        raise ValueError(f"Unknown system {system!r}; expected one of {', '.join(SYSTEMS)}.") from None
    if config is None:
        return twin(recorder)
    if not isinstance(config, config_class):
        raise TypeError(f"{system} needs a {config_class.__name__}, not {type(config).__name__}.")
    return real(config)
