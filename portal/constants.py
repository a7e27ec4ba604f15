"""Constants of the kernel."""

# A 503 tells clients and proxies to come back after this many seconds (Retry-After); PostgreSQL restarts and
# fail-overs take about that.
RETRY_AFTER_SECONDS = 30
