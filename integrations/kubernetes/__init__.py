"""Kubernetes: the adapter over the official client, its dry-run twin and the Protocol both satisfy.

The stub server (`integrations.kubernetes.stub`) is for tests and is not imported here.
"""

from .adapter import KubernetesAdapter, KubernetesResource
from .dryrun import DryRunKubernetesAdapter
from .protocol import KubernetesPort

__all__ = ["DryRunKubernetesAdapter", "KubernetesAdapter", "KubernetesPort", "KubernetesResource"]
