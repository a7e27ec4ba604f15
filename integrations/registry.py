"""Pick the adapter for a system: the real one when a connection is configured, its dry-run twin otherwise.

Callers get the system's Protocol (`KubernetesPort`, ...), never a concrete class: the real adapter and its twin
are interchangeable behind it. Each `SystemAdapters` entry is typed by that Protocol, so a type checker proves
both classes satisfy it. A config of the wrong system is refused at run time (TypeError), which is why the
overloads accept any config: `Connection.config()` cannot say statically which one it builds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeAlias, TypeVar, overload

from integrations.config import GitLabConfig, JenkinsConfig, JiraConfig, KubernetesConfig
from integrations.dryrun import DryRunRecorder
from integrations.gitlab import DryRunGitLabAdapter, GitLabAdapter, GitLabPort
from integrations.jenkins import DryRunJenkinsAdapter, JenkinsAdapter, JenkinsPort
from integrations.jira import DryRunJiraAdapter, JiraAdapter, JiraPort
from integrations.kubernetes import DryRunKubernetesAdapter, KubernetesAdapter, KubernetesPort

AdapterConfig: TypeAlias = KubernetesConfig | GitLabConfig | JenkinsConfig | JiraConfig
AdapterPort: TypeAlias = KubernetesPort | GitLabPort | JenkinsPort | JiraPort

C = TypeVar("C")
P = TypeVar("P")


@dataclass(frozen=True)
class SystemAdapters(Generic[C, P]):
    """One system's configuration class, real adapter and dry-run twin, both answering as Protocol `P`."""

    system: str
    config: type[C]
    real: Callable[[C], P]
    twin: Callable[[DryRunRecorder | None], P]

    def build(self, config: object | None, *, recorder: DryRunRecorder | None = None) -> P:
        if config is None:
            return self.twin(recorder)
        if not isinstance(config, self.config):
            raise TypeError(f"{self.system} needs a {self.config.__name__}, not {type(config).__name__}.")
        return self.real(config)


KUBERNETES: SystemAdapters[KubernetesConfig, KubernetesPort] = SystemAdapters(
    "kubernetes", KubernetesConfig, KubernetesAdapter, DryRunKubernetesAdapter
)
GITLAB: SystemAdapters[GitLabConfig, GitLabPort] = SystemAdapters(
    "gitlab", GitLabConfig, GitLabAdapter, DryRunGitLabAdapter
)
JENKINS: SystemAdapters[JenkinsConfig, JenkinsPort] = SystemAdapters(
    "jenkins", JenkinsConfig, JenkinsAdapter, DryRunJenkinsAdapter
)
JIRA: SystemAdapters[JiraConfig, JiraPort] = SystemAdapters("jira", JiraConfig, JiraAdapter, DryRunJiraAdapter)

ADAPTERS: dict[str, SystemAdapters[Any, Any]] = {entry.system: entry for entry in (KUBERNETES, GITLAB, JENKINS, JIRA)}
SYSTEMS = tuple(ADAPTERS)


@overload
def get_adapter(
    system: Literal["kubernetes"], config: AdapterConfig | None = None, *, recorder: DryRunRecorder | None = None
) -> KubernetesPort: ...
@overload
def get_adapter(
    system: Literal["gitlab"], config: AdapterConfig | None = None, *, recorder: DryRunRecorder | None = None
) -> GitLabPort: ...
@overload
def get_adapter(
    system: Literal["jenkins"], config: AdapterConfig | None = None, *, recorder: DryRunRecorder | None = None
) -> JenkinsPort: ...
@overload
def get_adapter(
    system: Literal["jira"], config: AdapterConfig | None = None, *, recorder: DryRunRecorder | None = None
) -> JiraPort: ...
@overload
def get_adapter(
    system: str, config: AdapterConfig | None = None, *, recorder: DryRunRecorder | None = None
) -> AdapterPort: ...
def get_adapter(
    system: str, config: AdapterConfig | None = None, *, recorder: DryRunRecorder | None = None
) -> AdapterPort:
    """The real adapter for `system` over `config`, or its dry-run twin (recording into `recorder`) when None."""
    try:
        entry = ADAPTERS[system]
    except KeyError:
        raise ValueError(f"Unknown system {system!r}; expected one of {', '.join(SYSTEMS)}.") from None
    port: AdapterPort = entry.build(config, recorder=recorder)
    return port
