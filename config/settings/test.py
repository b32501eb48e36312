"""Settings for the test suite. DATABASE_URL / CELERY_BROKER_URL switch to PostgreSQL / Redis."""

from .base import *  # noqa: F403

DEBUG = False
DEMO_MODE = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
