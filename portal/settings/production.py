"""Production: everything from the environment, and refuse to start without the essentials."""

import os

from django.core.exceptions import ImproperlyConfigured

for _name in ("DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS"):
    if not os.environ.get(_name):
        raise ImproperlyConfigured(f"{_name} must be set in production")
# A broker: RabbitMQ (CELERY_BROKER_URL, as docker compose and deploy/kubernetes have it) or Redis (REDIS_URL).
# Nothing else uses Redis (the caches are per process), so with RabbitMQ it is not needed.
if not (os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")):
    raise ImproperlyConfigured("CELERY_BROKER_URL or REDIS_URL must be set in production")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_FORMAT", "json")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and Prometheus's scrape come over plain HTTP to the pod (portal.middleware.HealthCheckMiddleware answers them
# before the redirect too); /metrics stays behind its token or allowed networks.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Whoever sees and steers every request, and Django's staff, log in with a second factor unless explicitly turned off.
PORTICO_REQUIRE_OTP_FOR_STAFF = env.bool("PORTICO_REQUIRE_OTP_FOR_STAFF", default=True)
