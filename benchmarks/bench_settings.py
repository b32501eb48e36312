"""Settings for the processes benchmarks/escalation.py starts: production-like Celery and
escalation settings, PostgreSQL and Redis from the environment, email by SMTP to the
benchmark's loopback sink."""

import os

from config.settings.base import *  # noqa: F403

DEBUG = False
DEMO_MODE = True
CONN_MAX_AGE = 60
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "25"))
LOGGING["root"]["level"] = "INFO"  # noqa: F405
