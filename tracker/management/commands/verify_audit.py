"""Check the audit trail. Exit 0 when intact; exit 1 naming the first broken row otherwise."""

from django.core.management.base import BaseCommand, CommandError

from tracker.audit import triggers
from tracker.audit.verify import verify


class Command(BaseCommand):
    help = (
        "Verify the hash chain over every history row and read-access record, the rows it "
        "names, and the signed chain-head seals kept outside the database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--require-seal",
            action="store_true",
            help="Fail when no signed seal exists (production: truncation must be detectable).",
        )

    def handle(self, *args, require_seal=False, **options):
        report = verify(require_seal=require_seal)
        for table in triggers.missing():
            report.problems.append(f"{table}: append-only triggers missing (run migrate)")
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        summary = f"{report.links} links, {report.rows} rows, {report.seals} seals checked"
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {summary}."))
            return
        for problem in report.problems[1:20]:
            self.stderr.write(f"also: {problem}")
        raise CommandError(
            f"Audit trail BROKEN ({len(report.problems)} problems; {summary}). "
            f"First broken: {report.problems[0]}"
        )
