"""Test settings: PostgreSQL and Redis on localhost unless DATABASE_URL / REDIS_URL say otherwise.

The broker is REDIS_URL unless CELERY_BROKER_URL names another (the worker tests start workers on RabbitMQ that way).
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never outside tests
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405  (a plain dict in base.py)
# Tests change data between two reads of a report; the cache has its own tests (reports/tests/test_cache.py).
PORTICO_REPORT_CACHE_SECONDS = 0
PORTICO_DESK_CHOICES_CACHE_SECONDS = 0  # likewise: tests add vendors and engineers between two pages
# Likewise tests take PostgreSQL or the broker away and expect the next probe to notice (portal/tests/test_health.py).
PORTICO_READYZ_CACHE_SECONDS = 0
# The test client builds the middleware for every client, and WhiteNoise reads every static file when built (60–100 ms
# a client): tests/support/static.py reads them once per process.
MIDDLEWARE = [
    "tests.support.static.SharedWhiteNoiseMiddleware" if name == "whitenoise.middleware.WhiteNoiseMiddleware" else name
    for name in MIDDLEWARE  # noqa: F405
]
# The Slack and Teams stand-ins (conversations/testing.py) listen on loopback.
PORTICO_CHAT_WEBHOOK_HOSTS = [*PORTICO_CHAT_WEBHOOK_HOSTS, "127.0.0.1"]  # noqa: F405
