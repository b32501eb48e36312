"""Celery tasks: thin. They take ids, and the escalation package does the work.

- escalation_sweep: run by beat every ESCALATION_SWEEP_SECONDS (and on demand after a change
  that makes something due at once); records due steps and dispatches them.
- escalation_deliver: sends a batch of recorded escalations.
"""

import logging
import time

from celery import shared_task
from django.conf import settings

from . import health
from .escalation import delivery, engine

log = logging.getLogger(__name__)


def dispatch(ids):
    """Hand escalations to the workers in batches. Called after the sweep's commits."""
    size = settings.ESCALATION_DELIVERY_BATCH
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        try:
            escalation_deliver.delay(chunk)
        except Exception:  # broker unreachable: they stay pending and the sweep retries
            log.warning("Could not enqueue %d escalations; the sweep will retry", len(chunk))


@shared_task(ignore_result=True)
def escalation_sweep():
    started = time.monotonic()
    looked_at, dispatched = engine.sweep(dispatch=dispatch)
    health.beat()  # only after a sweep that completed: tracker/health.py raises the alarm
    if looked_at or dispatched:
        log.info(
            "Escalation sweep: %d findings looked at, %d dispatched in %.3fs",
            looked_at,
            dispatched,
            time.monotonic() - started,
        )


@shared_task(ignore_result=True)
def escalation_deliver(escalation_ids):
    counts = delivery.deliver_many(escalation_ids)
    log.info("Escalations delivered: %s", counts)
