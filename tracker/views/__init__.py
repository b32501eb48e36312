"""Screens, one module per concern: home, worklists, findings (flag, page), workflow (actions)."""

from .corrections import correction
from .findings import exam_lookup, finding_detail, flag
from .health import health
from .home import home
from .workflow import acknowledge, close, decline, hand_over, log_call
from .worklists import inbox, open_findings, worklist

__all__ = [
    "acknowledge",
    "close",
    "correction",
    "decline",
    "exam_lookup",
    "finding_detail",
    "flag",
    "hand_over",
    "health",
    "home",
    "inbox",
    "log_call",
    "open_findings",
    "worklist",
]
