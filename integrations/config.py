"""Connection settings for each system: plain frozen dataclasses, secrets kept out of `repr()`.

The per-environment connection models build these; adapters never see a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.errors import ErrorKind, IntegrationError

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class KubernetesConfig:
    """A Kubernetes API server reached with a bearer token."""

    url: str
    token: str = field(repr=False)
    ca_bundle_path: str | None = None
    insecure: bool = False
    timeout: float = DEFAULT_TIMEOUT

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,)


@dataclass(frozen=True)
class JenkinsConfig:
    """A Jenkins controller reached with a user and API token (basic auth)."""

    url: str
    user: str
    api_token: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.api_token,)


@dataclass(frozen=True)
class GitLabConfig:
    """A GitLab instance reached with a personal, group or project access token."""

    url: str
    token: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,)


@dataclass(frozen=True)
class JiraConfig:
    """Jira Cloud (e-mail + API token, basic auth) or Data Center (personal access token, bearer)."""

    url: str
    email: str | None = None
    api_token: str | None = field(default=None, repr=False)
    pat: str | None = field(default=None, repr=False)
    project_key: str = ""
    issue_type: str = "Task"
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if not self.pat and not (self.email and self.api_token):
            raise IntegrationError(
                "jira",
                ErrorKind.INVALID,
                "Jira needs either an e-mail address with an API token (Cloud) "
                "or a personal access token (Data Center).",
            )

    @property
    def is_cloud(self) -> bool:
        """Cloud uses e-mail + API token; a PAT means Data Center. It decides the search API and user fields."""
        return not self.pat

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.api_token, self.pat) if s)
