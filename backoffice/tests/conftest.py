"""Connection rows pointing at the stub servers, as the provisioning tests make them."""

from provisioning.tests.conftest import connect  # noqa: F401 — a fixture, used by name
