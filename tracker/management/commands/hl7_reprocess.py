"""Re-process HL7 dead letters: `python manage.py hl7_reprocess 12 13` or `--all`."""

from django.core.management.base import BaseCommand, CommandError

from tracker.hl7 import ingest
from tracker.models import InboundMessage, User


class Command(BaseCommand):
    help = "Run stored HL7 dead letters through ingest again (after fixing what was missing)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int)
        parser.add_argument("--all", action="store_true", help="every dead letter")
        parser.add_argument(
            "--as-user", required=True, help="username of the administrator doing this"
        )

    def handle(self, *args, ids, all, as_user, **options):
        user = User.objects.filter(username=as_user, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user '{as_user}'.")
        queryset = InboundMessage.objects.dead_letters().order_by("received_at", "pk")
        if not all:
            if not ids:
                raise CommandError("Give message ids, or --all.")
            queryset = queryset.filter(pk__in=ids)
        for message in queryset:
            done = ingest.reprocess(message, by=user)
            self.stdout.write(f"{done.pk} {done.control_id or '-'} {done.ack_code} {done.error}")
