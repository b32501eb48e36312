"""When background work last completed: a stopped scheduler or worker must show, not go quiet."""

from django.db import models


class Heartbeat(models.Model):
    """The last completion of a periodic job (the escalation sweep). Operational state, not part
    of the clinical record: overwritten in place, no history."""

    name = models.CharField(max_length=60, primary_key=True)
    last_beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.last_beat_at:%Y-%m-%d %H:%M:%S}"
