"""Shared set-up for the escalation tests: a full chain of people to tell."""

from tracker.escalation import delivery, engine


def run_sweep(now=None):
    """One sweep with its deliveries done at once (what beat + a worker do)."""
    sent = []

    def dispatch(ids):
        sent.extend(ids)
        delivery.deliver_many(ids)

    engine.sweep(dispatch=dispatch, now=now)
    return sent
