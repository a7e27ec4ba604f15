"""Settings for every deployment; with no environment variables at all this is the embedded default:
SQLite, a filesystem Celery broker that needs no server, console e-mail and dry-run adapters."""

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.broker import broker_kind, celery_broker_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=True)
# The embedded default is for a laptop; production.py refuses to start without a real key.
SECRET_KEY = env("SECRET_KEY", default="embedded-default-not-a-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "portal",
    "requests_app",
    "sla",
    "integrations",
    "jira_bridge",
    "provisioning",
    "reports",
    "conversations",
    "demo",
    "desk",
    "attachments",
    "inbound",
    "canned",
    "backoffice",
    "announcements",
    "incidents",
]

MIDDLEWARE = [
    "portal.observability.RequestIdMiddleware",
    # Every error under /api/ in the API's JSON shape, whatever answered it; Retry-After on every 503.
    "portal.middleware.ErrorShapeMiddleware",
    # Probes come from the kubelet with the pod IP as Host and over plain HTTP: answer them before host checks.
    "portal.middleware.HealthCheckMiddleware",
    # NUL bytes in the URL (400) and bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (413), before anything reads them.
    "portal.middleware.RequestLimitsMiddleware",
    # Outermost after the probes, so a view that cannot reach PostgreSQL answers 503 (page or JSON), not 500.
    "portal.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times in the signed-in user's own zone (portal.timefmt), right after we know who they are.
    "portal.middleware.UserTimezoneMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After htmx (it answers htmx requests with HX-Redirect) and after OTPMiddleware, which it reads.
    "portal.otp.middleware.OtpRequiredMiddleware",
    # With DEBUG (`make run`), the portal's own 404 page rather than Django's URL listing (PORTICO_DEBUG_404=1 to
    # get Django's back).
    "portal.middleware.StyledNotFoundMiddleware",
    # Last, as django-axes asks: it turns a login refused for lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]
PORTICO_DEBUG_404 = env.bool("PORTICO_DEBUG_404", default=False)

ROOT_URLCONF = "portal.urls"
# A CSRF failure under /api/ (a session's write without its token) answers in the API's JSON shape.
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "requests_app.context_processors.navigation",
                "portal.context_processors.sign_in_options",
                "announcements.context_processors.announcement_banners",
            ],
        },
    },
]
# Django's form renderer with the common widgets written out in Python: the same HTML without a template per
# <option> (portal/form_renderer.py).
FORM_RENDERER = "portal.form_renderer.FormRenderer"

# SQLite in WAL mode with IMMEDIATE transactions lets the web process, the worker and beat share one
# file without "database is locked" errors under the light load of a demo.
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'portico.sqlite3'}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's backend, checking a reused connection's socket before each request rather than sending `SELECT 1`
    # (a round trip on every request); a connection the server ended is still replaced before use (portal/postgres).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "portal.postgres"
    # Django spells out every join, and ours are foreign keys to small tables in a sensible order; letting
    # PostgreSQL search all orders of a request with its six related rows took ~4 ms of planning for 0.3 ms of
    # execution on every list and page (bench/RESULTS.md). Subqueries are still planned freely.
    DATABASES["default"].setdefault("OPTIONS", {})
    # Behind PgBouncer in transaction mode (deploy/kubernetes/pgbouncer.yaml) a server connection is ours for one
    # transaction only: a WITH HOLD cursor (Django's server-side cursors outside a transaction) may be gone by the
    # next fetch, and PgBouncer refuses the `options` startup parameter, so join_collapse_limit comes from the role
    # (deploy/postgres/roles.sql) instead.
    if env.bool("PORTICO_DB_TRANSACTION_POOLER", default=False):
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        DATABASES["default"]["OPTIONS"].setdefault("options", "-c join_collapse_limit=1")
    # Parameters travel apart from the SQL (server-side binding), so psycopg prepares a statement on a connection once
    # it has run it PORTICO_DB_PREPARE_THRESHOLD times, and PostgreSQL stops planning it again: planning was most of
    # PostgreSQL's time on the desk's pages (bench/RESULTS.md, "Prepared statements"). A transaction pooler hands each
    # transaction another server connection, where the statement was never prepared, so there it is off unless set
    # (PgBouncer 1.21+ with max_prepared_statements keeps them; the one tested here, Debian's 1.18, does not).
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
        env.int("PORTICO_DB_PREPARE_THRESHOLD", default=0 if env.bool("PORTICO_DB_TRANSACTION_POOLER", False) else 5)
        or None
    )
    # libpq waits for ever by default when PostgreSQL cannot be reached; a request (or /readyz) gives up after this.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("PORTICO_DB_CONNECT_TIMEOUT", default=5))
# Reports, exports and /metrics may read a streaming replica (portal/replica.py); the primary whenever the replica is
# down or further behind than PORTICO_REPLICA_MAX_LAG seconds. Writes always go to the primary.
if env("DATABASE_REPLICA_URL", default="") and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["ENGINE"] = DATABASES["default"]["ENGINE"]
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], "connect_timeout": 2}
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["portal.replica.ReplicaRouter"]
PORTICO_REPLICA_MAX_LAG = env.float("PORTICO_REPLICA_MAX_LAG", default=30.0)
PORTICO_REPLICA_CHECK_SECONDS = env.float("PORTICO_REPLICA_CHECK_SECONDS", default=5.0)
PORTICO_REPLICA_CHECK_TIMEOUT = 2.0  # seconds for the health check's query

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
# django-axes first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "portal.auth_backends.PortalModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="Asia/Kolkata")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (attachments, kept inbound mail): on disk under var/ by default; PORTICO_STORAGE=s3 keeps them in an
# S3-compatible bucket through django-storages (AWS_* below; credentials may also come from the pod's role).
MEDIA_ROOT = env("PORTICO_MEDIA_ROOT", default=str(VAR_DIR / "media"))
PORTICO_STORAGE = env("PORTICO_STORAGE", default="filesystem")
_default_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if PORTICO_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            # Private objects, never a public URL: files are served only through the portal's visibility check.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# The requests API's page-numbered `count` is exact for lists PostgreSQL's planner puts under this many rows, the
# planner's estimate for longer ones: an exact count reads every row (portal/api/pagination.py).
PORTICO_API_EXACT_COUNT_LIMIT = env.int("PORTICO_API_EXACT_COUNT_LIMIT", default=10_000)
# A full-text search ranked best match first ranks the newest this many matches of the list (every filter applied);
# a common word matches a third of all requests, and ranking them all took seconds (requests_app/querysets.py).
# 500 is 20 pages of 25: finding and ranking the window costs in proportion to it (2,000 missed 100 ms on
# 1,000,000 requests; bench/RESULTS.md).
PORTICO_SEARCH_RANK_WINDOW = env.int("PORTICO_SEARCH_RANK_WINDOW", default=500)
# Attachments: the largest file, and the types (sniffed from the bytes) that may be attached.
PORTICO_ATTACHMENT_MAX_BYTES = env.int("PORTICO_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# A multipart body to an upload path may be this large (the file plus the form around it); every other body keeps
# Django's 2.5 MB (portal.middleware.RequestLimitsMiddleware).
PORTICO_UPLOAD_BODY_MAX_BYTES = PORTICO_ATTACHMENT_MAX_BYTES + 1024 * 1024
# Attachments, and the signed NDA a move of a vendor's onboarding carries.
PORTICO_UPLOAD_PATHS = re.compile(
    r"^/((api/v1/)?requests/[^/]+/attachments/"
    r"|manage/onboarding/[^/]+/[^/]+/move/|api/v1/vendors/[^/]+/onboarding/[^/]+/move/)$"
)
PORTICO_ATTACHMENT_TYPES = env.list(
    "PORTICO_ATTACHMENT_TYPES",
    default=[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "application/zip",
        "application/gzip",
    ],
)
WHITENOISE_USE_FINDERS = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Portico <portico@localhost>")
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# Notification e-mails: replies go to PORTICO_MAIL_INTAKE_ADDRESS, plus-addressed per request and person
# (conversations/addresses.py);
# Message-IDs use PORTICO_MAIL_DOMAIN (blank: the reply address's domain), so threads survive a change of host.
PORTICO_MAIL_DOMAIN = env("PORTICO_MAIL_DOMAIN", default="")
# A notice about an event with files (a comment, a request filed by e-mail) attaches them while they total at most
# this much; past it the e-mail lists them with links to the portal only (mail servers often refuse 10 MB and more).
PORTICO_MAIL_ATTACH_MAX_BYTES = env.int("PORTICO_MAIL_ATTACH_MAX_BYTES", default=5 * 1024 * 1024)
# An SLA flag raised this long after its threshold passed (a fresh install's first scan, or after downtime) is
# summed up in one message per person rather than sent one per clock.
PORTICO_NOTIFY_CATCH_UP_SECONDS = env.int("PORTICO_NOTIFY_CATCH_UP_SECONDS", default=15 * 60)
# How often open pages ask for the unread count and the notification list for new entries.
PORTICO_NOTIFY_POLL_SECONDS = env.int("PORTICO_NOTIFY_POLL_SECONDS", default=30)
# Slack/Teams webhook calls give up after this long (the delivery is retried with backoff).
PORTICO_CHAT_TIMEOUT_SECONDS = env.float("PORTICO_CHAT_TIMEOUT_SECONDS", default=10.0)
# The hosts a person's own chat webhook may be on (a leading dot: any name under it). The server posts to that
# address, so it must not be one inside Portico's network.
PORTICO_CHAT_WEBHOOK_HOSTS = env.list(
    "PORTICO_CHAT_WEBHOOK_HOSTS", default=["hooks.slack.com", ".webhook.office.com", "outlook.office.com"]
)
# An e-mail or chat delivery still owed this long after it was due (its task lost: a broker restart, a publish
# that never happened) is queued again by beat's conversations_deliveries_sweep.
PORTICO_DELIVERY_SWEEP_AFTER_SECONDS = env.int("PORTICO_DELIVERY_SWEEP_AFTER_SECONDS", default=300)

# Paging (incidents/paging.py): a P0/P1 production issue pages its vendor's primary on call at once; unacknowledged
# after this many minutes (a rota may set its own) it goes to the secondary, then the vendor's leads, then eGov DevOps.
PORTICO_PAGE_ESCALATE_MINUTES = env.int("PORTICO_PAGE_ESCALATE_MINUTES", default=15)
# How long the acknowledge link in a page's e-mail/SMS works.
PORTICO_PAGE_ACK_LINK_HOURS = env.int("PORTICO_PAGE_ACK_LINK_HOURS", default=24)
# The SMS gateway pages go through (integrations/sms.py): blank URL, no SMS.
PORTICO_SMS_URL = env("PORTICO_SMS_URL", default="")
PORTICO_SMS_TOKEN = env("PORTICO_SMS_TOKEN", default="")
# Break-glass access (incidents/breakglass.py): the longest grant, and how soon eGov DevOps must review it.
PORTICO_BREAK_GLASS_MAX_HOURS = env.int("PORTICO_BREAK_GLASS_MAX_HOURS", default=2)
PORTICO_BREAK_GLASS_REVIEW_HOURS = env.int("PORTICO_BREAK_GLASS_REVIEW_HOURS", default=24)

# E-mail in (inbound/): the intake address (plus-addressed for filing and replies), the largest message taken,
# and how many messages one sender may send in an hour before the rest are dropped as a loop.
PORTICO_MAIL_INTAKE_ADDRESS = env("PORTICO_MAIL_INTAKE_ADDRESS", default="portico@localhost")
PORTICO_MAIL_MAX_BYTES = env.int("PORTICO_MAIL_MAX_BYTES", default=25 * 1024 * 1024)
PORTICO_MAIL_RATE_PER_HOUR = env.int("PORTICO_MAIL_RATE_PER_HOUR", default=30)
# Alertmanager's webhook (inbound/alertmanager.py): the largest body taken; a group of many alerts is well under it.
PORTICO_ALERTMANAGER_MAX_BYTES = env.int("PORTICO_ALERTMANAGER_MAX_BYTES", default=1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so an anonymous call answers 401 with a WWW-Authenticate header rather than 403.
        "portal.tokens.ApiTokenAuthentication",
        # DRF's session authentication, refusing (403) a session that still owes its two-factor code.
        "portal.otp.authentication.OtpSessionAuthentication",
    ],
    # An API token also needs the scope for the call: read for GET, write for the rest (portal.tokens).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "portal.tokens.TokenScopePermission"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PortalPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["portal.api.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portico API",
    "DESCRIPTION": "Self-service requests to eGov DevOps with SLA tracking.",
    "VERSION": "1.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc are served from our own static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Paginated lists answer 400/404 for bad pages; found by the API fuzz test (tests/test_api_fuzz.py).
        "portal.api.schema.document_page_errors",
        # Writes answer 403 to a token without the write scope (portal.tokens.TokenScopePermission).
        "portal.api.schema.document_token_scopes",
        # 413 for oversized bodies and 503 with Retry-After, answered around the views (portal.middleware).
        "portal.api.schema.document_transport_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RequestStateEnum": "requests_app.choices.RequestState",
        "PriorityEnum": "requests_app.choices.Priority",
        "RequestTypeEnum": "requests_app.choices.RequestType",
        "SlaStatusEnum": "sla.choices.ClockStatus",
        "GoalUnitEnum": "sla.choices.GoalUnit",
        "ClockKindEnum": "sla.choices.ClockKind",
        "TokenScopeEnum": "portal.choices.TokenScope",
        "NotificationModeEnum": "conversations.models.Mode",
        "ChatWebhookKindEnum": "conversations.models.ChatKind",
        "OnboardingStageEnum": "requests_app.choices.OnboardingStatus",
    },
}

# --- Security ------------------------------------------------------------------------------------------
# Log-in lockout (django-axes). Three counts of failed log-ins within PORTICO_LOGIN_LOCKOUT_MINUTES, each with its own
# limit; reaching any one refuses further log-ins (even with the right password) until the oldest failures age out:
#   one username from one address:   PORTICO_LOGIN_FAILURE_LIMIT (5): a person mistyping locks only themselves;
#   one username from any address:   PORTICO_LOGIN_USERNAME_FAILURE_LIMIT (10): guessing one account from many places;
#   one address, for any usernames:  PORTICO_LOGIN_IP_FAILURE_LIMIT (20): one password tried across many accounts.
# The address is the client's as PORTICO_PROXY_COUNT says (behind an uncounted proxy, every client shares its address).
# A successful log-in forgives only that username's failures. API tokens never go through it. Counted in the
# database, so every web process shares the counts.
AXES_FAILURE_LIMIT = env.int("PORTICO_LOGIN_FAILURE_LIMIT", default=5)
PORTICO_LOGIN_USERNAME_FAILURE_LIMIT = env.int("PORTICO_LOGIN_USERNAME_FAILURE_LIMIT", default=10)
PORTICO_LOGIN_IP_FAILURE_LIMIT = env.int("PORTICO_LOGIN_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PORTICO_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username", "ip_address"]
AXES_HANDLER = "portal.security.LoginThrottleHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip"
AXES_VERBOSE = False  # no banner on every process start; lockouts are still logged as warnings
# How many reverse proxies in front of Portico append to X-Forwarded-For. 0 (the default) trusts only the socket's
# address, since without a proxy that strips it the header is whatever the client wrote.
PORTICO_PROXY_COUNT = env.int("PORTICO_PROXY_COUNT", default=0)

# The longest a personal API token may live, in days, by its owner's role (requests_app.roles.Role values; "admin"
# is Django's staff and superusers; "default" every role not named). The shortest that applies wins, never above 365:
# the wider a role's reach, the sooner its tokens expire.
# PORTICO_API_TOKEN_MAX_DAYS in the environment ("program_manager=30,admin=7") overrides the roles it names.
PORTICO_API_TOKEN_MAX_DAYS = {
    "default": 365,
    "vendor_engineer": 180,
    "vendor_lead": 180,
    "program_manager": 90,
    "egov_devops": 90,
    "admin": 30,
    **{role: int(days) for role, days in env.dict("PORTICO_API_TOKEN_MAX_DAYS", default={}).items()},
}

# Two-factor (django-otp, TOTP): anyone with a confirmed authenticator gives a code after the password; with
# PORTICO_REQUIRE_OTP_FOR_STAFF the program manager, eGov DevOps and Django staff (is_staff, superusers) must set one
# up before anything else. Off here, so the embedded demo and the tests log in with a password alone; production.py
# turns it on unless the environment says otherwise.
PORTICO_REQUIRE_OTP_FOR_STAFF = env.bool("PORTICO_REQUIRE_OTP_FOR_STAFF", default=False)
OTP_TOTP_ISSUER = "Portico"

# Single sign-on with OpenID Connect (mozilla-django-oidc): off unless OIDC_RP_CLIENT_ID is set; the username and
# password log-in stays beside it. The provider's endpoints are given one by one (no discovery fetch at start-up);
# tokens are checked for signature (OIDC_RP_SIGN_ALGO, keys from OIDC_OP_JWKS_ENDPOINT), issuer, audience, expiry
# and nonce, and the code exchange uses PKCE. Users are matched by (issuer, subject).
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
# Optional: without it only the ID token's claims are read.
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile")
OIDC_TIMEOUT = 10  # seconds, for each call to the provider
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
PORTICO_SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
# The claim whose values PORTICO_SSO_GROUP_MAP maps to roles, teams and vendors (requests_app/sso.py), e.g.
# {"portico-pm": "program_manager", "devops": "egov_devops", "mgramseva": "team:mgramseva",
#  "optit": "vendor:optit:engineer", "optit-leads": "vendor:optit:lead"}
PORTICO_SSO_GROUPS_CLAIM = env("PORTICO_SSO_GROUPS_CLAIM", default="groups")
PORTICO_SSO_GROUP_MAP = env.json("PORTICO_SSO_GROUP_MAP", default={})
PORTICO_SSO_USERNAME_CLAIM = env("PORTICO_SSO_USERNAME_CLAIM", default="preferred_username")
# Let a first SSO log-in take over the one existing account with the same address, when the provider says it
# verified the address. Off: at some providers people set their own address.
PORTICO_SSO_LINK_BY_EMAIL = env.bool("PORTICO_SSO_LINK_BY_EMAIL", default=False)
if PORTICO_SSO_ENABLED:
    _sso_needs = ["OIDC_RP_CLIENT_SECRET", "OIDC_OP_ISSUER", "OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT"]
    if OIDC_RP_SIGN_ALGO.startswith(("RS", "ES", "PS")):
        _sso_needs.append("OIDC_OP_JWKS_ENDPOINT")
    if _sso_missing := [name for name in _sso_needs if not globals()[name]]:
        raise ImproperlyConfigured(f"OIDC_RP_CLIENT_ID is set, so single sign-on also needs {', '.join(_sso_missing)}")
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "requests_app.sso.SsoBackend"]

# Password reset: e-mails per address (existing or not) and per client address in an hour; then 429.
PORTICO_PASSWORD_RESET_PER_ADDRESS = 3
PORTICO_PASSWORD_RESET_PER_IP = 10
PASSWORD_RESET_TIMEOUT = 60 * 60  # seconds a reset link works (Django's default is three days)

# Content-Security-Policy (django-csp 4): nothing inline, nothing from elsewhere. The API docs relax it for
# themselves only (portal.security).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Celery --------------------------------------------------------------------------------------------
# CELERY_BROKER_URL names the broker: RabbitMQ (amqp://, production: quorum queues, publisher confirms, a dead
# worker's task redelivered at once) or Redis; without it REDIS_URL is the broker, and with neither kombu's
# filesystem transport under var/ gives the embedded default a real worker and beat with no server at all.
# What follows from the broker's kind (queues, transport options) is built in portal/broker.py.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default="filesystem://"))
_broker_folder = VAR_DIR / "broker"
if broker_kind(CELERY_BROKER_URL) == "filesystem":
    for _sub in ("queue", "processed", "control"):
        (_broker_folder / _sub).mkdir(parents=True, exist_ok=True)
_broker = celery_broker_settings(
    CELERY_BROKER_URL,
    folder=_broker_folder,
    # Redis only: longer than the longest task and the longest countdown, or it redelivers work still running.
    visibility_timeout=env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
)
CELERY_BROKER_TRANSPORT_OPTIONS = _broker["broker_transport_options"]
CELERY_TASK_QUEUES = _broker["task_queues"]
CELERY_TASK_DEFAULT_EXCHANGE_TYPE = _broker["task_default_exchange_type"]
CELERY_TASK_DEFAULT_QUEUE_TYPE = _broker["task_default_queue_type"]
CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = _broker["task_create_missing_queue_type"]
CELERY_TASK_CREATE_MISSING_QUEUE_EXCHANGE_TYPE = _broker["task_create_missing_queue_exchange_type"]
CELERY_WORKER_DETECT_QUORUM_QUEUES = _broker["worker_detect_quorum_queues"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Portico -------------------------------------------------------------------------------------------
PORTICO_AUTO_CLOSE_AFTER_DAYS = env.int("PORTICO_AUTO_CLOSE_AFTER_DAYS", default=5)
PORTICO_REOPEN_WITHIN_DAYS = env.int("PORTICO_REOPEN_WITHIN_DAYS", default=7)
PORTICO_P4_MIN_NOTICE_DAYS = 21
# Hypercare after a release or deployment: the window's default length, and whether production issues filed in
# it go up one priority level (a window can also opt out on its own).
PORTICO_HYPERCARE_DEFAULT_DAYS = env.int("PORTICO_HYPERCARE_DEFAULT_DAYS", default=14)
PORTICO_HYPERCARE_RAISE_PRIORITY = env.bool("PORTICO_HYPERCARE_RAISE_PRIORITY", default=True)
PORTICO_MAX_TEXT_LENGTH = 20_000
# Weekly reports: ISO weeks and "today" are cut in this timezone; the Monday e-mail goes to this list (empty: none).
PORTICO_REPORT_TIMEZONE = env("PORTICO_REPORT_TIMEZONE", default="Asia/Kolkata")
PORTICO_REPORT_RECIPIENTS = env.list("PORTICO_REPORT_RECIPIENTS", default=[])
# A weekly report is served again for this long to the same scope (0: always recompute); per process.
PORTICO_REPORT_CACHE_SECONDS = env.int("PORTICO_REPORT_CACHE_SECONDS", default=60)
# The desk's filter and bulk bars offer the same vendors, engineers, environments and (staff) teams to a whole scope;
# they are read once per scope and kept this long (0: read on every page); per process.
PORTICO_DESK_CHOICES_CACHE_SECONDS = env.int("PORTICO_DESK_CHOICES_CACHE_SECONDS", default=30)
# Finished weeks are read from their stored copy (reports/stored.py); False computes every week on demand.
PORTICO_REPORT_STORED_WEEKS = env.bool("PORTICO_REPORT_STORED_WEEKS", default=True)
# How long one run of the stored-weeks task may spend recomputing (it picks up the rest on its next run).
PORTICO_REPORT_STORE_BUDGET_SECONDS = env.int("PORTICO_REPORT_STORE_BUDGET_SECONDS", default=240)
# Delivery metrics: the share of P0/P1 production issues (percent) that should meet both SLA clocks.
PORTICO_INCIDENT_SLA_TARGET = env.float("PORTICO_INCIDENT_SLA_TARGET", default=99.5)
# The longest a request waits on the broker when it publishes from the outbox (connect, then each read); work
# not sent in time stays in the outbox and the sweeper sends it later.
PORTICO_OUTBOX_PUBLISH_TIMEOUT = env.float("PORTICO_OUTBOX_PUBLISH_TIMEOUT", default=3.0)
# A provisioning run is in a worker's hands for this long after its last heartbeat; past it, the sweeper (every
# 30 s, from beat) resumes it on another worker. The executing worker renews it every HEARTBEAT seconds, so a
# worker killed whole is noticed within LEASE + 30 s. The sweeper resumes one run at most MAX_RESUMES times,
# then fails it: a run that keeps killing its worker needs a person. Keep the heartbeat well inside the lease
# (a third of it or less), or a slow database write can let the lease lapse under a live worker.
PORTICO_PROVISIONING_LEASE_SECONDS = env.float("PORTICO_PROVISIONING_LEASE_SECONDS", default=60.0)
PORTICO_PROVISIONING_HEARTBEAT_SECONDS = env.float("PORTICO_PROVISIONING_HEARTBEAT_SECONDS", default=10.0)
PORTICO_PROVISIONING_MAX_RESUMES = env.int("PORTICO_PROVISIONING_MAX_RESUMES", default=3)
# A Jira delivery still unprocessed this long after it arrived (or after its last re-send) is sent again by the
# sweeper, at most MAX_ATTEMPTS times in all; then it is marked failed for the program manager.
PORTICO_JIRA_DELIVERY_GRACE_SECONDS = env.float("PORTICO_JIRA_DELIVERY_GRACE_SECONDS", default=300.0)
PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS = env.int("PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS", default=3)

# /readyz checks PostgreSQL and the broker at most once per PORTICO_READYZ_CACHE_SECONDS in each web process and
# answers every probe in between from that result, so probes can never occupy the workers; each step of a check
# (connect, then each read, or the SQL statement) gives up after PORTICO_READYZ_TIMEOUT seconds.
PORTICO_READYZ_CACHE_SECONDS = env.float("PORTICO_READYZ_CACHE_SECONDS", default=5.0)
PORTICO_READYZ_TIMEOUT = env.float("PORTICO_READYZ_TIMEOUT", default=2.0)

# /metrics answers the bearer of METRICS_TOKEN, or any client in METRICS_ALLOWED_NETWORKS (Prometheus's pod range).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])

# LOG_FORMAT=json gives one JSON object per line (production's default) with the request id that follows a
# request into its Celery tasks; "plain" is easier to read on a laptop.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# SQLite (the embedded default) cannot enforce the routing rule's NULLS NOT DISTINCT uniqueness; PostgreSQL does.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
