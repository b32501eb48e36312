"""Settings shared by every environment. Values that differ per site come from the environment.

Every variable read here is listed in README.md ("Configuration").
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"  # local state in embedded mode (SQLite file, broker folder)

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="insecure-demo-key-change-me-" + "x" * 30)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Demo mode allows seed_demo to create the well-known demo logins. Never on in production.
DEMO_MODE = env.bool("DEMO_MODE", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
    "django_htmx",
    "django_filters",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tracker",
    "tracker.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Sets history_user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "tracker.context_processors.escalation_engine",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_SERVER_SIDE_BINDING", default=True
):
    # Parameters sent apart from the SQL (not quoted into it in Python), and a statement run
    # five times on a connection is prepared once: HL7 ingest was 14-44 % faster with this in two
    # paired runs (docs/benchmarks.md). Switch off behind a connection pooler
    # that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"server_side_binding": True, "prepare_threshold": 5})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share one SQLite file in embedded mode.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tracker.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# Stored in UTC; shown in the site's local zone with the zone name (GMT / BST).
TIME_ZONE = env("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="critical-results@localhost")

# Celery. Embedded default: kombu's filesystem transport, so no broker server is needed.
# Production sets CELERY_BROKER_URL to Redis or RabbitMQ.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(VAR_DIR / "broker-control"),  # else ./control in the checkout
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes every database connection around every task unless this is set;
# config/celery.py applies CONN_MAX_AGE instead, as for a web request.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Escalation engine (tracker/escalation, docs/architecture.md "Escalation engine").
# Beat runs the sweep every ESCALATION_SWEEP_SECONDS: no long ETA task is ever queued.
ESCALATION_SWEEP_SECONDS = env.float("ESCALATION_SWEEP_SECONDS", default=1.0)
ESCALATION_SWEEP_BUDGET_SECONDS = 10  # one sweep stops taking new batches after this
ESCALATION_REDELIVER_AFTER_SECONDS = 30  # a pending escalation is handed out again after this
ESCALATION_DELIVERY_BATCH = 50  # escalations per delivery task
# A delivery worker's claim on its batch; it starts no new send after half of it, so keep it
# well above 2 x ESCALATION_SEND_TIMEOUT_SECONDS. A crashed worker's batch waits this long.
ESCALATION_DELIVERY_LEASE_SECONDS = 60
ESCALATION_MAX_ATTEMPTS = 10  # failed sends before an escalation is marked failed
ESCALATION_RETRY_MAX_BACKOFF_SECONDS = 300
ESCALATION_SEND_TIMEOUT_SECONDS = 10
# The alarm (every signed-in page, and /health/ answering 503) when no sweep has completed for
# this long, or a pending escalation is this far past its hand-out time (tracker/health.py).
ESCALATION_HEARTBEAT_ALARM = env.bool("ESCALATION_HEARTBEAT_ALARM", default=True)
ESCALATION_HEARTBEAT_STALE_SECONDS = env.int("ESCALATION_HEARTBEAT_STALE_SECONDS", default=60)
ESCALATION_DELIVERY_STALE_SECONDS = env.int("ESCALATION_DELIVERY_STALE_SECONDS", default=120)
ESCALATION_CHANNELS = env.list("ESCALATION_CHANNELS", default=["email"])  # email, webhook
ESCALATION_WEBHOOK_URL = env("ESCALATION_WEBHOOK_URL", default="")
ESCALATION_GOVERNANCE_USERNAME = env("ESCALATION_GOVERNANCE_USERNAME", default="")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Sweeps have a queue of their own, so a backlog of deliveries never holds the next sweep back.
# A worker consumes every queue listed here unless started with -Q.
CELERY_TASK_QUEUES = {"celery": {}, "escalation-sweep": {}}
CELERY_TASK_ROUTES = {"tracker.tasks.escalation_sweep": {"queue": "escalation-sweep"}}
CELERY_BEAT_SCHEDULE = {
    "escalation-sweep": {
        "task": "tracker.tasks.escalation_sweep",
        "schedule": ESCALATION_SWEEP_SECONDS,
        # A sweep that waited longer than this is stale: the next one does its work.
        "options": {"expires": 10},
    },
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Integration (REST API, HL7 v2, FHIR R4): tracker/api, tracker/hl7, tracker/fhir.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",  # systems
        "rest_framework.authentication.SessionAuthentication",  # users
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "tracker.api.pagination.FindingPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tracker.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "tracker.api.schema.TrackerAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Critical result tracker API",
    "DESCRIPTION": "Flag findings, log communication, acknowledge and hand over; read timelines.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from the drf-spectacular-sidecar package, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# HL7 v2 ingest: OBX-8 abnormal flags -> category, and the account that flags when OBR-32
# names no known radiologist (created on first use, role radiologist, department Radiology).
HL7_ABNORMAL_FLAG_CATEGORIES = env.json(
    "HL7_ABNORMAL_FLAG_CATEGORIES",
    default={"AA": "critical", "HH": "critical", "LL": "critical", "A": "significant"},
)
HL7_CATEGORY_CODES = env.json(
    "HL7_CATEGORY_CODES",
    default={"CRITICAL": "critical", "URGENT": "significant", "SIGNIFICANT": "significant"},
)
HL7_INTERFACE_USERNAME = env("HL7_INTERFACE_USERNAME", default="hl7-interface")
# Owns unrouted results (ordering clinician unknown) when no reporting radiologist is known.
RADIOLOGY_DUTY_USERNAME = env("RADIOLOGY_DUTY_USERNAME", default="radiology-duty")
# A hospital number (MRN) must match this (regular expression, whole value). The default takes
# letters, digits and - / . (no spaces or control characters); set the site's own format.
PATIENT_MRN_PATTERN = env("PATIENT_MRN_PATTERN", default=r"[A-Za-z0-9][A-Za-z0-9./-]{0,39}")
# How long HL7 ingest keeps a clinician it looked up (seconds; 0: look up every message). A change
# made in another process (the admin site) reaches a running listener within this time.
HL7_CLINICIAN_CACHE_SECONDS = env.float("HL7_CLINICIAN_CACHE_SECONDS", default=5.0)
# Identifier systems in FHIR output: <base>/accession-number, <base>/username, ...
FHIR_IDENTIFIER_BASE = env("FHIR_IDENTIFIER_BASE", default="urn:critical-result-tracker")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- Security and audit (issue 6) ------------------------------------------------------------
INSTALLED_APPS += ["axes"]  # must stay after django.contrib.auth
MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "tracker.security.middleware.InactivityLogoutMiddleware",
)
MIDDLEWARE += [
    "tracker.security.middleware.PermissionDenialLogMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]
# The lock-out check comes first; it has no get_user(), so client.force_login() still uses
# ModelBackend, and it lets request-less authenticate() (client.login()) through to ModelBackend.
AUTHENTICATION_BACKENDS = [
    "tracker.security.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)  # hours
# An account from one address: a ward's computers share an address behind the hospital proxy, so
# locking an address would lock out the whole ward, and locking an account everywhere would let
# anyone lock a clinician out by typing wrong passwords (both availability hazards).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True

INACTIVITY_TIMEOUT_MINUTES = env.int("INACTIVITY_TIMEOUT_MINUTES", default=15)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No inline scripts or styles anywhere (admin included); static files come from our origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# History is never rewritten, not even by reverting through the admin.
SIMPLE_HISTORY_REVERT_DISABLED = True
DEFAULT_EXCEPTION_REPORTER_FILTER = "tracker.security.logging.PatientSafeExceptionReporterFilter"

# Audit chain seals: the HMAC key lives only in the environment, never in the database.
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="")
AUDIT_SEAL_PATH = env("AUDIT_SEAL_PATH", default=str(VAR_DIR / "audit-seals.jsonl"))
AUDIT_SEAL_INTERVAL_MINUTES = env.int("AUDIT_SEAL_INTERVAL_MINUTES", default=5)
CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE", {})
CELERY_BEAT_SCHEDULE["seal-audit-chain"] = {
    "task": "tracker.audit.seal_audit_chain",
    "schedule": AUDIT_SEAL_INTERVAL_MINUTES * 60,
}

LOGGING["filters"] = {"redact": {"()": "tracker.security.logging.RedactPatientDataFilter"}}
LOGGING["handlers"]["console"]["filters"] = ["redact"]
LOGGING["formatters"]["security"] = {"format": "%(asctime)s SECURITY %(message)s"}
LOGGING["handlers"]["security"] = {
    "class": "logging.StreamHandler",
    "formatter": "security",
    "filters": ["redact"],
}
LOGGING["loggers"] = {
    "tracker.security": {"handlers": ["security"], "level": "INFO", "propagate": False},
    "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
}

# --- Data entry and sessions (issue 13: screens) ---------------------------------------------
# A form whose CSRF check fails gets a plain page saying what to do, never Django's raw 403.
CSRF_FAILURE_VIEW = "tracker.views.errors.csrf_failure"
