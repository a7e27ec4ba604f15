"""GitLab: the adapter over python-gitlab, its dry-run twin and the Protocol both satisfy.

The stub server (`integrations.gitlab.stub`) is for tests and is not imported here.
"""

from .adapter import GitLabAdapter, GitLabMember, GitLabPipeline, GitLabProject
from .dryrun import DryRunGitLabAdapter
from .protocol import GitLabPort

__all__ = ["DryRunGitLabAdapter", "GitLabAdapter", "GitLabMember", "GitLabPipeline", "GitLabPort", "GitLabProject"]
