"""Sign the audit chain head (HMAC, key from AUDIT_HMAC_KEY) and append it to AUDIT_SEAL_PATH.

Run at intervals (Celery beat runs tracker.audit.tasks.seal_audit_chain; cron can run this)."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from tracker.audit import seal


class Command(BaseCommand):
    help = "Append a signed seal of the audit chain head to the seal file outside the database."

    def handle(self, *args, **options):
        try:
            seq, head = seal.seal_head()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Sealed link #{seq} ({head[:12]}...) in {seal.seal_path()}.")
