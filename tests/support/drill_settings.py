"""Settings for the fault drill's worker processes (tests/test_fault_drill.py): the short run lease of
provisioning/tests/worker_settings.py, and e-mail written to files in PORTICO_TEST_MAIL_DIR, so the test process
can count every message a worker sent (the test settings' in-memory outbox dies with the worker)."""

import os

from provisioning.tests.worker_settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["PORTICO_TEST_MAIL_DIR"]
