"""What the audit chain costs: time per service call with and without chaining, and how long
verify_audit takes per link.

    DATABASE_URL=postgres://... python benchmarks/audit_chain.py --findings 300

Needs a migrated database; the "with chain" findings stay in it (they are ordinary audited rows),
the comparison runs are rolled back so the chain stays intact.
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from simple_history.signals import post_create_historical_record  # noqa: E402

from tracker.audit import chain  # noqa: E402
from tracker.audit.verify import verify  # noqa: E402
from tracker.models import Channel, Department, Outcome, Role, User  # noqa: E402
from tracker.services import exams as exam_services  # noqa: E402
from tracker.services import findings as services  # noqa: E402


class Rollback(Exception):
    pass


def people():
    tag = uuid.uuid4().hex[:8]
    radiology, _ = Department.objects.get_or_create(code="bench-rad", defaults={"name": "Bench"})
    radiologist = User.objects.create(
        username=f"bench-rad-{tag}", role=Role.RADIOLOGIST, department=radiology
    )
    referrer = User.objects.create(username=f"bench-ref-{tag}", role=Role.REFERRER)
    return radiologist, referrer


def one_finding(radiologist, referrer):
    tag = uuid.uuid4().hex[:12]
    patient = exam_services.patient_register(
        actor=radiologist, identifier=f"B{tag}", family_name="Bench"
    )
    exam = exam_services.exam_register(
        actor=radiologist,
        accession_number=f"BENCH-{tag}",
        patient=patient,
        modality="CT",
        ordering_clinician=referrer,
    )
    finding = services.finding_flag(
        actor=radiologist,
        accession_number=exam.accession_number,
        category="critical",
        description="Pneumothorax.",
    )
    services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=referrer,
    )


def run(count, radiologist, referrer):
    start = time.perf_counter()
    for _ in range(count):
        one_finding(radiologist, referrer)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=300)
    args = parser.parse_args()
    radiologist, referrer = people()
    links_before = chain.head()[0]

    def rolled_back():
        try:
            with transaction.atomic():
                seconds = run(args.findings, radiologist, referrer)
                raise Rollback(seconds)
        except Rollback as done:
            return done.args[0]

    # Both compared in one rolled-back transaction each, so commits do not blur the difference.
    with_chain = rolled_back()
    post_create_historical_record.disconnect(dispatch_uid="audit_chain_history")
    try:
        without_chain = rolled_back()
    finally:
        post_create_historical_record.connect(
            chain.on_history_row, dispatch_uid="audit_chain_history"
        )
    # And the real thing: one transaction per service call, committed, chained.
    committed = run(args.findings, radiologist, referrer)
    links = chain.head()[0] - links_before

    start = time.perf_counter()
    report = verify()
    verify_seconds = time.perf_counter() - start

    n = args.findings
    print(
        f"database: {django.db.connection.vendor}; {n} findings, each registered + flagged + "
        f"one read-back call ({links / n:.1f} history rows each)"
    )
    ms = 1000 / n
    print(f"with chain:    {with_chain * ms:.1f} ms per finding (one rolled-back transaction)")
    print(f"without chain: {without_chain * ms:.1f} ms per finding (one rolled-back transaction)")
    print(f"chain cost per history row: {(with_chain - without_chain) / links * 1000:.2f} ms")
    print(f"committed and chained, a transaction per call: {committed * ms:.1f} ms per finding")
    print(
        f"verify_audit: {report.links} links in {verify_seconds:.2f} s "
        f"({report.links / verify_seconds:.0f} links/s); intact={report.ok}"
    )


if __name__ == "__main__":
    main()
