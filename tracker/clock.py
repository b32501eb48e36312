"""The server's clock, the only source of time for clinical events.

`replay_at` sets the clock for the current context while demo data or synthetic history is
generated through the real services, so that events and their history rows carry the replayed
time. Requests, the API, HL7 ingest and Celery tasks never set it.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

_replayed_now = ContextVar("replayed_now", default=None)


def now():
    return _replayed_now.get() or timezone.now()


@contextmanager
def replay_at(moment):
    token = _replayed_now.set(moment)
    try:
        yield
    finally:
        _replayed_now.reset(token)
