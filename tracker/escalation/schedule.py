"""Called by the services on every save of a finding: look at it again from its earliest deadline.

An earlier wake-up than needed only costs the engine one look (it recomputes and moves it on);
a later one could lose an alert, so every change resets it. When something is due already (a
decline after the deadline, a recategorisation into a shorter window), the engine is asked to
look now, after the transaction commits: a rolled-back request sends nothing.
"""

import logging

from django.db import transaction

from .. import clock
from . import rules

log = logging.getLogger(__name__)


def finding_changed(finding):
    finding.next_escalation_at = rules.first_check(finding)
    if finding.next_escalation_at is not None and finding.next_escalation_at <= clock.now():
        transaction.on_commit(lambda: ask_engine_to_look())


def ask_engine_to_look():
    from ..tasks import escalation_sweep

    try:
        escalation_sweep.delay()
    except Exception:  # broker down: the beat sweep will find it anyway
        log.warning("Could not enqueue an escalation sweep; the periodic sweep will run it")
