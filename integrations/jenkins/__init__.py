"""Jenkins: the adapter over python-jenkins, its dry-run twin and the Protocol both satisfy.

The stub server (`integrations.jenkins.stub`) is for tests and is not imported here.
"""

from .adapter import JenkinsAdapter, JenkinsBuild, JenkinsQueueItem, JenkinsRunRef
from .dryrun import DryRunJenkinsAdapter
from .protocol import JenkinsPort

__all__ = ["DryRunJenkinsAdapter", "JenkinsAdapter", "JenkinsBuild", "JenkinsPort", "JenkinsQueueItem", "JenkinsRunRef"]
