"""Settings for the test suite. DATABASE_URL / CELERY_BROKER_URL switch to PostgreSQL / Redis."""

from .base import *  # noqa: F403

DEBUG = False
DEMO_MODE = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AUDIT_HMAC_KEY = "test-audit-key"  # noqa: S105 - tests only
AUDIT_SEAL_PATH = ""  # each test that seals points this at its own tmp_path

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: threads and worker processes in the tests then see the
    # same database with the same locking as embedded mode (WAL, immediate transactions).
    VAR_DIR.mkdir(exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405

# No beat runs under most tests, so the engine alarm would sit on every page (and screenshot);
# tests/test_health.py switches it on.
ESCALATION_HEARTBEAT_ALARM = False
