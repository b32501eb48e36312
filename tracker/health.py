"""Is the escalation engine running? Escalations are only as good as the processes behind them.

Beat schedules the sweep, a worker runs it, and each completed sweep records a heartbeat. If no
sweep has completed for ESCALATION_HEARTBEAT_STALE_SECONDS (beat, the worker, the broker or the
database is down), or an escalation is still unsent ESCALATION_DELIVERY_STALE_SECONDS after it
was recorded (no delivery worker, or every send failing), every signed-in user sees an alarm
and /health/ answers 503 for the hospital's monitoring. Hazard H12 in docs/safety/hazard-log.md.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from . import clock
from .models import Escalation, EscalationStatus, Heartbeat

SWEEP = "escalation_sweep"


def beat(name=SWEEP):
    """Record that `name` just completed (one indexed write)."""
    now = clock.now()
    updated = Heartbeat.objects.filter(name=name).update(  # bulk-ok: heartbeats have no history
        last_beat_at=now
    )
    if not updated:
        Heartbeat.objects.get_or_create(name=name, defaults={"last_beat_at": now})


@dataclass(frozen=True)
class EngineStatus:
    checked_at: datetime
    last_sweep_at: datetime | None
    # When the oldest escalation still waiting to be sent was recorded, if it is overdue.
    undelivered_since: datetime | None

    @property
    def sweep_running(self):
        if self.last_sweep_at is None:
            return False
        limit = timedelta(seconds=settings.ESCALATION_HEARTBEAT_STALE_SECONDS)
        return self.checked_at - self.last_sweep_at <= limit

    @property
    def delivering(self):
        return self.undelivered_since is None

    @property
    def ok(self):
        return self.sweep_running and self.delivering

    def as_dict(self):
        def iso(value):
            return value.isoformat() if value else None

        return {
            "status": "ok" if self.ok else "failing",
            "checked_at": iso(self.checked_at),
            "escalation_sweep": {
                "running": self.sweep_running,
                "last_completed_at": iso(self.last_sweep_at),
                "stale_after_seconds": settings.ESCALATION_HEARTBEAT_STALE_SECONDS,
            },
            "escalation_delivery": {
                "delivering": self.delivering,
                "undelivered_since": iso(self.undelivered_since),
                "stale_after_seconds": settings.ESCALATION_DELIVERY_STALE_SECONDS,
            },
        }


def engine_status():
    """Two indexed reads: the sweep's heartbeat and the oldest stuck pending escalation."""
    now = clock.now()
    last_sweep = Heartbeat.objects.filter(name=SWEEP).values_list("last_beat_at", flat=True)
    stuck_before = now - timedelta(seconds=settings.ESCALATION_DELIVERY_STALE_SECONDS)
    # Recorded that long ago and still not sent: no delivery worker, or every send failing.
    stuck = (
        Escalation.objects.filter(status=EscalationStatus.PENDING, created_at__lt=stuck_before)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    return EngineStatus(
        checked_at=now, last_sweep_at=last_sweep.first(), undelivered_since=stuck.first()
    )
