"""Settings, read from the environment only.

Every variable read here is listed with its default in `.env.example`. A local `.env` (written by
`scripts/bootstrap.sh` on first use) is loaded when present; real environment variables win.

Embedded defaults (a fresh clone): SQLite under var/, Celery on the filesystem:// broker, console
email, local-memory cache. Production: DATABASE_URL (Postgres), CELERY_BROKER_URL (Redis),
CACHE_URL (Redis), DEBUG=0.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Run `make run` once to write a local .env, "
            "or set SECRET_KEY in the environment."
        )
    SECRET_KEY = "insecure-local-only-key-for-debug-runs-without-an-env-file"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address of this deployment, used in links we send (invitations, webhooks to paste).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "django_celery_results",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "csp",
    # RecruitFlow
    "recruitflow",
    "accounts",
    "candidates",
    "library",
    "journeys",
    "messaging",
    "scheduling",
    "interviews",
    "writeback",
    "partners",
    "analytics",
    "notifications",
    "bulk",
    "onboarding",
    "integrations",
    "integrations.greenhouse",
    "integrations.lever",
    "integrations.twilio",
    "integrations.sendgrid",
    "integrations.textus",
    "integrations.cronofy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "recruitflow.middleware.RejectNulBytesMiddleware",
    "recruitflow.middleware.PrivatePagesNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "recruitflow.kept_user.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "recruitflow.tenant_middleware.TenantMiddleware",
]

ROOT_URLCONF = "recruitflow.urls"
WSGI_APPLICATION = "recruitflow.wsgi.application"
ASGI_APPLICATION = "recruitflow.asgi.application"

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
                "recruitflow.context_processors.shell",
                "messaging.context_processors.inbox",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'recruitflow.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process, the worker and beat share the file without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file too (not SQLite's shared in-memory database, whose table locks fail at
    # once instead of waiting), so the web thread, a real worker and the sandbox share it as
    # `make run` does.
    DATABASES["default"].setdefault("TEST", {"NAME": str(VAR_DIR / "test.sqlite3")})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    if env.bool("DATABASE_POOL", default=False):
        # psycopg's connection pool, per process: a thread borrows a connection for a request
        # and gives it back. Django requires CONN_MAX_AGE 0 with it (the pool keeps them).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=8),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10),
        }
# Persistent connections are checked before reuse, so after a database restart the first request
# or task on each connection reconnects instead of failing.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
# Postgres: the hottest statement (a send's answer) prepared once per database session. Turn off
# behind a pooler in transaction mode, where a session's prepared statements are not its own.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

# --- Cache -------------------------------------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://recruitflow")}
# Several users of one Redis database (the test suite's parallel workers) keep their cache keys
# and broker queues apart by a prefix on every key.
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="")
if REDIS_KEY_PREFIX:
    CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX

# Signed-in pages kept whole until their organization's data changes (recruitflow/page_cache.py).
# On by default only with a cache every process shares: a worker's write must reach the web's.
PAGE_CACHE = env.bool("PAGE_CACHE", default="redis" in CACHES["default"]["BACKEND"].lower())
# How old a kept page may get when nothing was written ("in 5 minutes", "today").
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=60)

# Sessions are read from the cache and written through to the database: a signed-in page does
# not query the session table (a shared cache in production: CACHE_URL).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth (django-allauth) ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupOrganizationForm"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = env(
    "ACCOUNT_EMAIL_VERIFICATION", default="optional" if DEBUG else "mandatory"
)
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[RecruitFlow] "
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
ACCOUNT_ALLOW_SIGNUP = env.bool("ACCOUNT_ALLOW_SIGNUP", default=True)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "RecruitFlow"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_PROVIDERS = {}
# Single sign-on through any OpenID Connect identity provider (Okta, Entra ID, Google Workspace).
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID", default="")
if OIDC_CLIENT_ID:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env("OIDC_PROVIDER_ID", default="sso"),
                "name": env("OIDC_NAME", default="Single sign-on"),
                "client_id": OIDC_CLIENT_ID,
                "secret": env("OIDC_CLIENT_SECRET", default=""),
                "settings": {"server_url": env("OIDC_SERVER_URL", default="")},
            }
        ]
    }

# --- Email -------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="RecruitFlow <no-reply@recruitflow.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Candidates' e-mail replies go to reply+<signed conversation>@o<account>.REPLY_EMAIL_DOMAIN,
# hosts whose (wildcard) MX points at the e-mail provider's inbound parsing.
REPLY_EMAIL_DOMAIN = env("REPLY_EMAIL_DOMAIN", default="reply.recruitflow.local").strip().lower()

# --- Encryption of provider secrets ------------------------------------------------------------
# A comma-separated list of Fernet keys; the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS is not set. `make run` or `make test` writes one into .env on first "
        "use; in production generate one with "
        "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
    )

# --- I18N / time -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Video interview recordings: never public; played through signed links (interviews.playback).
    "recordings": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(MEDIA_ROOT) / "recordings"), "base_url": None},
    },
}
RECORDINGS_STORAGE = env("RECORDINGS_STORAGE", default="filesystem").strip().lower()
RECORDINGS_PLAYBACK_ORIGINS: list[str] = []  # the filesystem's streaming view is same-origin
if RECORDINGS_STORAGE == "s3":
    # Any S3-compatible store. Private objects; URLs are presigned and short-lived, never public.
    if not env("RECORDINGS_S3_BUCKET", default=""):
        raise ImproperlyConfigured(
            "RECORDINGS_STORAGE=s3 needs RECORDINGS_S3_BUCKET (the bucket's name); see .env.example."
        )
    if bool(env("RECORDINGS_S3_ACCESS_KEY_ID", default="")) != bool(
        env("RECORDINGS_S3_SECRET_ACCESS_KEY", default="")
    ):
        raise ImproperlyConfigured(
            "Set both RECORDINGS_S3_ACCESS_KEY_ID and RECORDINGS_S3_SECRET_ACCESS_KEY, or neither "
            "(then boto3 finds credentials itself: instance role, AWS_* variables)."
        )
    RECORDINGS_S3_ADDRESSING_STYLE = env("RECORDINGS_S3_ADDRESSING_STYLE", default="path")
    if RECORDINGS_S3_ADDRESSING_STYLE not in ("path", "virtual", "auto"):
        raise ImproperlyConfigured(
            "RECORDINGS_S3_ADDRESSING_STYLE must be 'path' (https://endpoint/bucket/key, what "
            "most S3-compatible stores want), 'virtual' (https://bucket.endpoint/key) or 'auto'."
        )
    STORAGES["recordings"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("RECORDINGS_S3_BUCKET"),
            "endpoint_url": env("RECORDINGS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env("RECORDINGS_S3_REGION", default="") or None,
            "access_key": env("RECORDINGS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("RECORDINGS_S3_SECRET_ACCESS_KEY", default="") or None,
            "addressing_style": RECORDINGS_S3_ADDRESSING_STYLE,
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }
    # Where browsers fetch presigned recording URLs from (the CSP below allows it for playback).
    _endpoint = urlsplit(env("RECORDINGS_S3_ENDPOINT_URL", default=""))
    RECORDINGS_PLAYBACK_ORIGINS = [
        f"{_endpoint.scheme}://{_endpoint.netloc}"
        if _endpoint.netloc
        else "https://*.amazonaws.com"
    ]
    if _endpoint.netloc and RECORDINGS_S3_ADDRESSING_STYLE != "path":
        RECORDINGS_PLAYBACK_ORIGINS.append(f"{_endpoint.scheme}://*.{_endpoint.netloc}")
elif RECORDINGS_STORAGE != "filesystem":
    raise ImproperlyConfigured(
        f"RECORDINGS_STORAGE={RECORDINGS_STORAGE!r} is not a recordings storage: use "
        "'filesystem' (files under MEDIA_ROOT/recordings) or 's3' (an S3-compatible bucket)."
    )
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security ----------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
_directives: dict[str, list[str]] = CONTENT_SECURITY_POLICY["DIRECTIVES"]  # type: ignore[assignment]
for _directive in ("media-src", "img-src"):  # recordings and their posters from the bucket
    _directives[_directive] = [*_directives.get(_directive, [SELF]), *RECORDINGS_PLAYBACK_ORIGINS]

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.IsOrganizationMember"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "recruitflow.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.OrganizationRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"organization": env("API_THROTTLE_RATE", default="600/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "recruitflow.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RecruitFlow partner API",
    "DESCRIPTION": (
        "Read and manage your RecruitFlow organization. Authenticate with an organization API "
        "key: `Authorization: Bearer rf_...` (Settings → API keys)."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "MessageChannelEnum": "messaging.models.Channel",
        "WebhookDeliveryStatusEnum": "partners.models.DeliveryStatus",
        "ApplicationStatusEnum": "candidates.models.ApplicationStatus",
        "SchedulingRequestStatusEnum": "scheduling.models.RequestStatus",
        "MeetingLinkEnum": "scheduling.models.MeetingLink",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "recruitflow.api.document_error_responses",
        "partners.openapi.add_webhooks",
        "partners.openapi.nullable_as_type_lists",
    ],
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
BROKER_DIR = Path(env("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in (BROKER_DIR, BROKER_DIR / "processed", BROKER_DIR / "control"):
        folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
        # The folder is listed this often for new work (the transport's default is 1 s, which
        # would cap an out-of-the-box worker at a few tasks per second).
        "polling_interval": env.float("CELERY_BROKER_POLL_S", default=0.1),
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="django-db")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
# A task whose worker process died (kill -9, out of memory) goes back to the queue instead of
# being acknowledged as failed; every task is safe to run twice (claims, idempotency keys).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis hands an unacknowledged task (its worker's main process died) to another worker after
# this many seconds. It must exceed the longest task and the longest countdown (calendar retries
# wait up to 30 minutes), or a task still running or waiting would be run a second time early.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env.int(
        "CELERY_BROKER_VISIBILITY_TIMEOUT_S", default=7200
    )
    if REDIS_KEY_PREFIX:
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{REDIS_KEY_PREFIX}:"
    # One list per priority (0 … 9; kombu's default steps 0, 3, 6, 9 are among them, so messages
    # queued before keep their lists), read in that order: priority 0 is served first.
    CELERY_BROKER_TRANSPORT_OPTIONS["priority_steps"] = list(range(10))
# Priorities by task name (on Redis; the filesystem broker has none). The way from an ATS stage
# change to the candidate's first message never waits behind bulk work (syncs, roll-ups,
# partner deliveries, sweeps: everything else), and along it a later stage goes first (a
# started run's text before the next delivery's apply), so in a burst candidates get their
# texts one after another instead of all waiting at the first stage. The first messages of
# stage changes executed in batches (a poll's page, a run of queued first steps) are delivered
# by one task per 25 of an organization, as soon as a message alone. Tasks sent by name get
# theirs too; a caller's own ``priority=`` wins.
CELERY_TASK_ROUTES = {
    "messaging.tasks.message_deliver": {"priority": 0},
    "messaging.tasks.message_deliver_urgent_batch": {"priority": 0},
    "journeys.run_steps": {"priority": 1},
    "journeys.match_transitions": {"priority": 2},
    "integrations.tasks.webhook_delivery_apply": {"priority": 3},
    "journeys.dispatch_due": {"priority": 4},
    # Texts and e-mails sent in batches (bulk actions, releases after quiet hours, journey
    # steps due after a wait): after the stage-change path, before the rest.
    "messaging.tasks.message_deliver_batch": {"priority": 5},
    "*": {"priority": 6},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes every database connection before and after each task unless
# told to keep them for this many tasks; a worker then opens a Postgres connection per task
# (measured: 39 → 104–172 one-message sends/s, docker/README.md "Workers"). Kept, they are
# checked as each task starts like a web request's (recruitflow/celery.py) and closed past
# CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Beat entries the DatabaseScheduler installs at start (the older schedules are rows written by
# migrations). Video interviews: recordings past the organization's retention are deleted daily.
CELERY_BEAT_SCHEDULE = {
    "interviews.retention_sweep": {
        "task": "interviews.retention_sweep",
        "schedule": 24 * 60 * 60,
    },
    # Answer takes a worker died on while processing are queued again (every 10 minutes).
    "interviews.process_stuck_answers": {
        "task": "interviews.process_stuck_answers",
        "schedule": 10 * 60,
    },
}

# --- Logging -----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint (PDF transcripts) logs each rendering step, and its stylesheet on import.
        "weasyprint": {"level": "WARNING"},
    },
}

# --- Phone numbers -----------------------------------------------------------------------------
# Region assumed for numbers typed without a country code (ISO 3166 code).
PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", default="US")

# --- Providers ---------------------------------------------------------------------------------
# Lever OAuth (partner app registered with Lever). Empty: Lever connects with an API key only.
LEVER_CLIENT_ID = env("LEVER_CLIENT_ID", default="")
LEVER_CLIENT_SECRET = env("LEVER_CLIENT_SECRET", default="")
LEVER_AUTH_BASE = env("LEVER_AUTH_BASE", default="https://auth.lever.co")
# Where the sandbox providers of `make run` listen. Empty hides the sandbox shortcuts.
SANDBOX_URL = env("SANDBOX_URL", default="http://127.0.0.1:8100" if DEBUG else "").rstrip("/")
# Sandbox shortcuts: texting through the sandbox Twilio without settings (the demo organization
# only) and accepting callbacks signed with the sandbox's public credentials (organizations
# that chose the sandbox only). Off by default with DEBUG=0; set 1 to allow them anyway.
SANDBOX_SHORTCUTS = env.bool("SANDBOX_SHORTCUTS", default=DEBUG)
# Provider addresses (SSRF guard, integrations/http.py). Off (the default with DEBUG=0): every
# provider is reached only at its documented host(s). On (`make run`, tests): admins may type
# another address, which must be public unless its origin is in PROVIDER_URL_ALLOWLIST
# (comma-separated scheme://host:port, port `*` = any; default the sandbox's origin).
PROVIDER_CUSTOM_URLS = env.bool("PROVIDER_CUSTOM_URLS", default=DEBUG)
PROVIDER_URL_ALLOWLIST = env.list(
    "PROVIDER_URL_ALLOWLIST", default=[SANDBOX_URL] if SANDBOX_URL else []
)
# Texting and e-mail providers: seconds to wait for one HTTP call, and attempts per call for
# failures the provider provably did not act on (connection refused, 429).
MESSAGING_PROVIDER_TIMEOUT_S = env.float("MESSAGING_PROVIDER_TIMEOUT_S", default=10)
MESSAGING_PROVIDER_MAX_ATTEMPTS = env.int("MESSAGING_PROVIDER_MAX_ATTEMPTS", default=3)
# Seconds a worker keeps an organization's resolved sending settings (providers, callback URL);
# a settings save drops them at once (messaging/send_context.py).
MESSAGING_SEND_CONTEXT_SECONDS = env.float("MESSAGING_SEND_CONTEXT_SECONDS", default=60)
# Messages per second one provider account is handed, by vendor ("*" = any other vendor; 0 = no
# limit); past it a send waits its turn in the queue (messaging/send_limits.py).
MESSAGING_SEND_RATE_PER_S = {
    name: float(rate)
    for name, rate in env.dict(
        "MESSAGING_SEND_RATE_PER_S", default={"twilio": "250", "sendgrid": "600", "textus": "3"}
    ).items()
}
# The recovery sweep (beat, every minute): a message "sending" (its worker died mid-send) or
# "queued" (its task was lost) this long is settled: the provider is asked before anything is
# sent again.
MESSAGING_SENDING_STALE_SECONDS = env.int("MESSAGING_SENDING_STALE_SECONDS", default=300)
MESSAGING_QUEUED_STALE_SECONDS = env.int("MESSAGING_QUEUED_STALE_SECONDS", default=300)
# Seconds a stored webhook delivery (any vendor) may wait for its apply task before the intake's
# sweep queues it again (integrations.intake).
WEBHOOK_LOST_AFTER_SECONDS = env.int("WEBHOOK_LOST_AFTER_SECONDS", default=120)

# --- Journeys engine ---------------------------------------------------------------------------
# How often beat runs the dispatcher (due steps, exit sweeps); read when the schedule is created.
JOURNEYS_DISPATCH_INTERVAL_SECONDS = env.int("JOURNEYS_DISPATCH_INTERVAL_SECONDS", default=5)
# A step still "running" after this long lost its worker: a send becomes "unknown" (never resent).
JOURNEYS_STEP_TIMEOUT_SECONDS = env.int("JOURNEYS_STEP_TIMEOUT_SECONDS", default=120)
# The match sweep advances its cursor only past transitions at least this old.
JOURNEYS_MATCH_SETTLE_SECONDS = env.int("JOURNEYS_MATCH_SETTLE_SECONDS", default=60)
# ATS activity write-back (writeback/): beat interval, the reader's settle window, the outbox's
# retries (first wait, doubling; tries before a write fails), the write timeout, the longest
# rate-limit wait a worker sits through, and when a claimed write counts as lost.
WRITEBACK_INTERVAL_SECONDS = env.int("WRITEBACK_INTERVAL_SECONDS", default=5)
WRITEBACK_SETTLE_SECONDS = env.int("WRITEBACK_SETTLE_SECONDS", default=10)
WRITEBACK_RETRY_BASE_SECONDS = env.int("WRITEBACK_RETRY_BASE_SECONDS", default=30)
WRITEBACK_MAX_ATTEMPTS = env.int("WRITEBACK_MAX_ATTEMPTS", default=8)
WRITEBACK_HTTP_TIMEOUT_SECONDS = env.float("WRITEBACK_HTTP_TIMEOUT_SECONDS", default=30)
WRITEBACK_MAX_RATE_WAIT_SECONDS = env.int("WRITEBACK_MAX_RATE_WAIT_SECONDS", default=30)
WRITEBACK_CLAIM_TIMEOUT_SECONDS = env.int("WRITEBACK_CLAIM_TIMEOUT_SECONDS", default=300)

# --- Analytics ---------------------------------------------------------------------------------
# Today's figures are counted from the raw rows at most this often per organization (0: always).
ANALYTICS_TODAY_CACHE_SECONDS = env.int("ANALYTICS_TODAY_CACHE_SECONDS", default=30)

# --- Inbox -------------------------------------------------------------------------------------
# The sidebar's unread badge is cached per organization, cleared by every write that changes it;
# this bounds how long anything else can leave it stale (seconds).
INBOX_BADGE_CACHE_SECONDS = env.int("INBOX_BADGE_CACHE_SECONDS", default=300)
# The same for the bell's unread count, per member.
NOTIFICATIONS_BADGE_CACHE_SECONDS = env.int("NOTIFICATIONS_BADGE_CACHE_SECONDS", default=300)

# --- Notifications -----------------------------------------------------------------------------
# The reader reads the domains' rows again until a pass that saw them is this old.
NOTIFICATIONS_SETTLE_SECONDS = env.int("NOTIFICATIONS_SETTLE_SECONDS", default=60)
# How often the bell asks for its unread count (seconds).
NOTIFICATIONS_POLL_SECONDS = env.int("NOTIFICATIONS_POLL_SECONDS", default=5)
# "Sends failing": this many outbound messages failed within an hour.
NOTIFICATIONS_SENDS_FAILING_THRESHOLD = env.int("NOTIFICATIONS_SENDS_FAILING_THRESHOLD", default=3)

# --- Scheduling: the public link ---------------------------------------------------------------
# Submissions of the public scheduling form: per visitor IP (across links) and per link
# (across visitors), as <count>/<duration> (s, m, h or d). Over it, the visitor gets a 429 page
# saying when to try again.
SCHEDULING_PUBLIC_LINK_RATE_PER_IP = env("SCHEDULING_PUBLIC_LINK_RATE_PER_IP", default="8/10m")
SCHEDULING_PUBLIC_LINK_RATE_PER_LINK = env("SCHEDULING_PUBLIC_LINK_RATE_PER_LINK", default="120/1h")
# How long the "is this you?" e-mail link works, for an address that is already a candidate.
SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS = env.int("SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS", default=24)

# --- Partner webhooks ---------------------------------------------------------------------------
# Hosts (names or IPs, comma-separated) partner webhooks may reach over plain http and at a
# private address: development receivers only. Everything else must be https and public.
PARTNER_WEBHOOK_HTTP_HOSTS = env.list(
    "PARTNER_WEBHOOK_HTTP_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else []
)
# The collector reads the domains' rows again until a pass that saw them is this old.
PARTNER_WEBHOOK_SETTLE_SECONDS = env.int("PARTNER_WEBHOOK_SETTLE_SECONDS", default=60)
# Retries: base·2^(n-1) seconds, each wait capped, with jitter, for the retry window; a
# subscription whose attempts all failed for the window is switched off and its admins e-mailed.
PARTNER_WEBHOOK_RETRY_BASE_SECONDS = env.float("PARTNER_WEBHOOK_RETRY_BASE_SECONDS", default=10)
PARTNER_WEBHOOK_RETRY_MAX_SECONDS = env.float("PARTNER_WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600)
PARTNER_WEBHOOK_RETRY_WINDOW_SECONDS = env.int(
    "PARTNER_WEBHOOK_RETRY_WINDOW_SECONDS", default=3 * 86400
)
# Events, deliveries and the attempts log are deleted after this many days.
PARTNER_WEBHOOK_RETENTION_DAYS = env.int("PARTNER_WEBHOOK_RETENTION_DAYS", default=30)

# --- Demo --------------------------------------------------------------------------------------
DEMO_EMAIL = env("DEMO_EMAIL", default="demo@recruitflow.test")
DEMO_PASSWORD = env("DEMO_PASSWORD", default="recruitflow-demo")
