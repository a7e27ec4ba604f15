"""Settings for the worker processes of test_worker_death.py: the test settings with a lease short enough for a
test (3 s, a heartbeat every 0.5 s), the same mechanism as production's 60 s lease and 10 s heartbeat."""

from portal.settings.test import *  # noqa: F403

PORTICO_PROVISIONING_LEASE_SECONDS = 3.0
PORTICO_PROVISIONING_HEARTBEAT_SECONDS = 0.5
