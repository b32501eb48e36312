"""The Celery app. Web, worker and beat all load it (config/__init__.py).

Embedded default (`make run`): kombu's filesystem transport under var/, no broker server.
Production: CELERY_BROKER_URL (Redis or RabbitMQ). Beat runs the escalation sweep every
ESCALATION_SWEEP_SECONDS; see docs/architecture.md, "Escalation engine".
"""

import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _make_broker_folders():
    """The filesystem transport needs its folders before the first message."""
    from django.conf import settings

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _on_configure(sender, **kwargs):
    if str(sender.conf.broker_url or "").startswith("filesystem"):
        _make_broker_folders()


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(task=None, **kwargs):
    """Treat a task like a web request: keep the database connection for CONN_MAX_AGE (60 s in
    production) and drop it early only if it broke. Celery's own Django fixup would close every
    connection around every task (unless CELERY_DB_REUSE_MAX is set, which the settings do, so
    that this rule applies instead): a new PostgreSQL backend, and server-side prepared
    statements lost, for each delivery batch and each one-second sweep."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # runs inside the caller's transaction
    from django.db import close_old_connections

    close_old_connections()
