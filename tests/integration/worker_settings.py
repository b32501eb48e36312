"""Settings for the Celery worker and beat processes that the integration tests start.

The test database (PostgreSQL's test_* database, or SQLite's file), the test's Redis broker and
its loopback SMTP server come from the environment the test sets.
"""

import os

from config.settings.test import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["TEST_DB_NAME"]  # noqa: F405
CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
# Short, so a killed worker's message comes back within the test (real deployments: 1 hour).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 30}
CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"  # schedule file per beat process
ESCALATION_SWEEP_SECONDS = 0.5
CELERY_BEAT_SCHEDULE = {
    "escalation-sweep": {
        "task": "tracker.tasks.escalation_sweep",
        "schedule": ESCALATION_SWEEP_SECONDS,
        "options": {"expires": 5},
    },
}
ESCALATION_REDELIVER_AFTER_SECONDS = 3
# Short, so the batch of a worker killed mid-send is handed out again within the test.
ESCALATION_DELIVERY_LEASE_SECONDS = 6
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("TEST_SMTP_PORT", "25"))
EMAIL_TIMEOUT = 10
ESCALATION_SEND_TIMEOUT_SECONDS = 60
