"""The Celery app. Web, worker and beat all load it (config/__init__.py).

Embedded default (`make run`): kombu's filesystem transport under var/, no broker server.
Production: CELERY_BROKER_URL (Redis or RabbitMQ). Beat runs the escalation sweep every
ESCALATION_SWEEP_SECONDS; see docs/architecture.md, "Escalation engine".
"""

import os
from pathlib import Path

from celery import Celery

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
