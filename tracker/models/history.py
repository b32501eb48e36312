"""django-simple-history's manager, with its class built once per model rather than per use."""

import functools

from simple_history.manager import HistoryManager as BaseHistoryManager


class HistoryManager(BaseHistoryManager):
    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        # simple-history builds the manager class on every `instance.history` access, and it
        # makes one such access for every history row it writes. Building it walks the queryset
        # with inspect.getmembers: about 7% of HL7 ingest's CPU (docs/benchmarks.md). The class
        # it builds is the same every time, so build it once.
        return super().from_queryset(queryset_class, class_name)
