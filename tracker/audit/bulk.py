"""No bulk writes on audited models: django-simple-history records nothing for them.

`QuerySet.update()`, `bulk_create()` and `bulk_update()` on any model with HistoricalRecords
raise `BulkWriteRefused`, unless the caller opened `allow_bulk("why")` (the volume generator and
benchmarks; migrations use historical model states, which are not guarded). On audited models:
lock the row, then `save()` (tracker/services/base.py). tests/security/test_bulk_writes.py also
scans the source tree for such calls.
"""

import contextlib
import threading

from django.db.models import QuerySet
from simple_history.models import registered_models

_state = threading.local()


class BulkWriteRefused(RuntimeError):
    pass


@contextlib.contextmanager
def allow_bulk(reason):
    """Permit bulk writes on audited models in this thread (volume generator, benchmarks)."""
    if not reason:
        raise ValueError("Say why bulk writes that bypass history are allowed here.")
    previous = getattr(_state, "reason", None)
    _state.reason = reason
    try:
        yield
    finally:
        _state.reason = previous


def _is_audited(model):
    return model in registered_models.values()


def _guard(name, original):
    def guarded(self, *args, **kwargs):
        if _is_audited(self.model) and not getattr(_state, "reason", None):
            raise BulkWriteRefused(
                f"{self.model._meta.label}.{name}() bypasses history on an audited model: "
                "lock the row and save() it (or wrap a volume generator in allow_bulk())."
            )
        return original(self, *args, **kwargs)

    guarded.__name__ = name
    guarded.__wrapped__ = original
    return guarded


def install():
    for name in ("update", "bulk_create", "bulk_update"):
        current = getattr(QuerySet, name)
        if not hasattr(current, "__wrapped__"):
            setattr(QuerySet, name, _guard(name, current))
