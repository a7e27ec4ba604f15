"""Provisioning knobs in one place."""

# Labels Portico puts on every namespace it provisions, so an operator can trace it back to the request.
LABEL_REFERENCE = "portico.io/reference"
LABEL_TEAM = "portico.io/team"
LABEL_ENVIRONMENT = "portico.io/environment"

# Per-container defaults in a provisioned namespace; the ResourceQuota caps the total.
LIMIT_RANGE_DEFAULT = {"cpu": "500m", "memory": "512Mi"}
LIMIT_RANGE_DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
TEAM_CLUSTER_ROLE = "edit"

# Following a Jenkins build or GitLab pipeline: re-enqueue with a countdown instead of sleeping in a worker.
POLL_SECONDS = 5
MAX_POLLS = 240  # 20 minutes at 5 s: past that the run fails with a clear message instead of polling forever

# Task retries for transient failures (5xx, timeouts, dropped connections): exponential backoff with jitter.
MAX_RETRIES = 6
RETRY_BACKOFF_MAX = 300

# The GitLab pipeline trigger token lives in the environment variable named by the GitLab connection's
# `secret_env` plus this suffix (e.g. PORTICO_PUNJAB_GITLAB_TOKEN_TRIGGER); it is never stored.
GITLAB_TRIGGER_TOKEN_SUFFIX = "_TRIGGER"  # noqa: S105 - a variable-name suffix, not a secret

JIT_MAX_HOURS = 720
