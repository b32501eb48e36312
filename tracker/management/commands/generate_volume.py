"""Synthetic history for reports and benchmarks: years of findings in bulk.

    python manage.py generate_volume --findings 1000000 --seed 7 [--years 3]

Bulk inserts are allowed here and only here: going through the services one finding at a time
would take hours for a million. Every row still gets its history row
(simple-history's `bulk_create_with_history`), dated at the event it records and naming the
system user `generate-volume`, so the audit trail of synthetic data looks like real data.
Attempts and acknowledgements are written for the last 30 days only (what the dashboard and the
timelines show); older findings carry their stored times (flagged, communicated, acknowledged),
which is all the compliance report reads.

Realism (one seed gives the same data every time): weekday/daytime peaks; 15% critical, 35%
significant, 50% routine; CT/XR/MR/US-heavy modality mix; time to contact log-normal (critical
median 30 min, ~8% over the hour; significant median 4 h, ~1% over 24 h); acknowledgement
log-normal; breach reasons weighted; ~1% cancelled or entered in error; 1% of the last 48 hours
"stuck" (not yet reached, or reached and not acknowledged) so the overdue dashboard has rows.
"""

import math
import random
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tracker import clock
from tracker.audit.bulk import allow_bulk
from tracker.audit.chain import adopt_unchained
from tracker.governance.bulk import insert_with_history
from tracker.models import (
    Acknowledgement,
    BreachReason,
    Category,
    Channel,
    CommunicationAttempt,
    CommunicationPolicy,
    Department,
    Exam,
    Finding,
    Modality,
    Outcome,
    Patient,
    PlannedAction,
    Role,
    Status,
    User,
)

SYSTEM_USERNAME = "generate-volume"
DEPARTMENTS = [
    ("vol-ed", "Emergency Department", 24),
    ("vol-medicine", "Acute Medicine", 18),
    ("vol-surgery", "General Surgery", 14),
    ("vol-oncology", "Oncology", 10),
    ("vol-respiratory", "Respiratory", 8),
    ("vol-orthopaedics", "Orthopaedics", 8),
    ("vol-paediatrics", "Paediatrics", 6),
    ("vol-gp", "General Practice", 12),
]
RADIOLOGISTS = 24
CATEGORIES = [(Category.CRITICAL, 15), (Category.SIGNIFICANT, 35), (Category.ROUTINE, 50)]
MODALITIES = [
    (Modality.CT, 38),
    (Modality.XR, 25),
    (Modality.MR, 14),
    (Modality.US, 12),
    (Modality.MG, 4),
    (Modality.NM, 2),
    (Modality.PET, 2),
    (Modality.FL, 2),
    (Modality.IR, 1),
]
# Hours of the day a finding is flagged (local working pattern, in UTC for simplicity).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1]
# (median minutes, log-sigma) for time to contact and time to acknowledgement.
CONTACT = {
    Category.CRITICAL: (30, 0.5),
    Category.SIGNIFICANT: (240, 0.8),
    Category.ROUTINE: (2880, 0.7),
}
ACKNOWLEDGE = {
    Category.CRITICAL: (20, 0.8),
    Category.SIGNIFICANT: (180, 0.9),
    Category.ROUTINE: (4320, 0.8),
}
BREACH_REASONS = [
    (BreachReason.REFERRER_UNREACHABLE, 45),
    (BreachReason.WRONG_CONTACT_DETAILS, 20),
    (BreachReason.RADIOLOGIST_DELAY, 20),
    (BreachReason.SYSTEM_FAILURE, 5),
    (BreachReason.OTHER, 10),
]
DESCRIPTIONS = {
    Category.CRITICAL: [
        "Large right pneumothorax.",
        "Acute subdural haematoma with midline shift.",
        "Saddle pulmonary embolus.",
        "Free intraperitoneal gas.",
        "Type A aortic dissection.",
    ],
    Category.SIGNIFICANT: [
        "Spiculated 14 mm lung nodule.",
        "Renal mass suspicious for carcinoma.",
        "New liver lesions, likely metastases.",
        "Undisplaced scaphoid fracture.",
    ],
    Category.ROUTINE: [
        "Small hiatus hernia.",
        "Degenerative change lumbar spine.",
        "Simple renal cyst.",
        "Old healed rib fractures.",
    ],
}
RECENT = timedelta(days=30)
# What the live dashboard shows: a few recent findings nobody has reached, or not acknowledged.
STUCK_WINDOW = timedelta(hours=48)
STUCK_SHARE = 0.01


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _lognormal_minutes(rng, median, sigma):
    return timedelta(minutes=rng.lognormvariate(math.log(median), sigma))


class Command(BaseCommand):
    help = "Generate N synthetic findings over several years (bulk inserts, with history)."

    def add_arguments(self, parser):
        parser.add_argument("--findings", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--years", type=float, default=3.0)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument(
            "--skip-audit-chain",
            action="store_true",
            help="Do not chain the synthetic history rows into the audit chain (benchmark "
            "databases only: verify_audit will then report them as unchained).",
        )

    def handle(self, *args, findings, seed, years, batch, skip_audit_chain=False, **options):
        # Bulk writes bypass history signals; this command writes the history rows itself.
        with allow_bulk("generate_volume: synthetic history written with its history rows"):
            self._generate(findings, seed, years, batch)
        if skip_audit_chain:
            self.stdout.write("  audit chain: skipped (--skip-audit-chain)")
            return
        self.stdout.write("  audit chain: linking the synthetic history rows ...")
        started = time.monotonic()
        adopted = adopt_unchained()
        self.stdout.write(
            f"  audit chain: {adopted:,} rows linked in {time.monotonic() - started:.1f} s"
        )

    def _generate(self, findings, seed, years, batch):
        if findings < 1:
            raise CommandError("--findings must be at least 1.")
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        prefix = f"VOL{seed}-"
        if Exam.objects.filter(accession_number__startswith=prefix).exists():
            raise CommandError(
                f"Volume with seed {seed} is already in this database: use another --seed."
            )
        self.rng = random.Random(seed)
        self.now = clock.now()
        self.start = self.now - timedelta(days=365.25 * years)
        self.system = self._system_user()
        self.policies = {c: CommunicationPolicy.for_category(c) for c, _ in CATEGORIES}
        self.referrers, self.radiologists = self._people()
        patients = self._patients(max(1, findings // 3), prefix, batch)
        started = time.monotonic()
        done = 0
        while done < findings:
            size = min(batch, findings - done)
            self._batch(done, size, prefix, patients)
            done += size
            elapsed = time.monotonic() - started
            self.stdout.write(
                f"  {done:>9,} / {findings:,} findings  {elapsed:6.1f} s  "
                f"({done / max(elapsed, 0.001):,.0f}/s)"
            )
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.stdout.write("  VACUUM ANALYZE (so reports can use index-only scans)")
            with connection.cursor() as cursor:
                for model in (Finding, Exam, CommunicationAttempt, Acknowledgement, Patient):
                    cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")  # noqa: S608
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {findings:,} findings in {time.monotonic() - started:.1f} s."
            )
        )

    # Reference data: a handful of rows, saved one by one so their history names the system user.
    def _save(self, obj):
        obj._history_user = self.system
        obj._change_reason = "generate_volume"
        obj.save()
        return obj

    def _system_user(self):
        user = User.objects.filter(username=SYSTEM_USERNAME).first()
        if user is None:
            user = User(
                username=SYSTEM_USERNAME,
                first_name="Synthetic",
                last_name="Volume",
                is_active=False,
            )
            user.set_unusable_password()
            user.save()
        return user

    def _people(self):
        radiology = Department.objects.filter(code="vol-radiology").first() or self._save(
            Department(code="vol-radiology", name="Radiology")
        )
        referrers = []
        for code, name, count in DEPARTMENTS:
            department = Department.objects.filter(code=code).first() or self._save(
                Department(code=code, name=name)
            )
            for i in range(count):
                username = f"{code}-referrer-{i + 1:02d}"
                user = User.objects.filter(username=username).first() or self._save(
                    User(
                        username=username,
                        first_name=f"R{i + 1}",
                        last_name=name.split()[0],
                        title="Dr",
                        role=Role.REFERRER,
                        department=department,
                        grade="Consultant",
                    )
                )
                referrers.append(user)
        radiologists = []
        for i in range(RADIOLOGISTS):
            username = f"vol-radiologist-{i + 1:02d}"
            user = User.objects.filter(username=username).first() or self._save(
                User(
                    username=username,
                    first_name=f"Rad{i + 1}",
                    last_name="Radiologist",
                    title="Dr",
                    role=Role.RADIOLOGIST,
                    department=radiology,
                    grade="Consultant Radiologist",
                )
            )
            radiologists.append(user)
        return referrers, radiologists

    def _patients(self, count, prefix, batch):
        self.stdout.write(f"  {count:,} patients")
        ids = []
        for offset in range(0, count, batch):
            objs = []
            for i in range(offset, min(offset + batch, count)):
                p = Patient(
                    identifier=f"{prefix}P{i:08d}",
                    family_name=f"Synthetic{i % 997}",
                    given_name="Test",
                )
                p._history_date = self.start
                objs.append(p)
            created = self._insert(Patient, objs)
            ids.extend(p.pk for p in created)
        return ids

    def _insert(self, model, objs):
        return insert_with_history(model, objs, self.system, "generate_volume")

    def _flag_time(self):
        rng = self.rng
        span = (self.now - self.start).total_seconds()
        while True:
            moment = self.start + timedelta(seconds=rng.random() * span)
            # Fewer findings at weekends; more recently (the service grows ~10% a year).
            if moment.weekday() >= 5 and rng.random() < 0.45:
                continue
            if rng.random() > 0.8 + 0.2 * (moment - self.start).total_seconds() / span:
                continue
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            moment = moment.replace(hour=hour)
            if moment <= self.now:
                return moment

    def _batch(self, first, size, prefix, patients):
        rng = self.rng
        exams, findings = [], []
        for i in range(first, first + size):
            category = _weighted(rng, CATEGORIES)
            referrer = rng.choice(self.referrers)
            radiologist = rng.choice(self.radiologists)
            flagged_at = self._flag_time()
            exam = Exam(
                accession_number=f"{prefix}{i:08d}",
                patient_id=rng.choice(patients),
                modality=_weighted(rng, MODALITIES),
                body_part="",
                performed_at=flagged_at - timedelta(minutes=rng.randint(20, 240)),
                ordering_clinician=referrer,
                referring_department_id=referrer.department_id,
            )
            exam._history_date = exam.performed_at
            exams.append(exam)
            findings.append(self._finding(category, flagged_at, referrer, radiologist))
        exams = self._insert(Exam, exams)
        for exam, finding in zip(exams, findings, strict=True):
            finding.exam_id = exam.pk
        findings = self._insert(Finding, findings)
        self._recent_events([f for f in findings if f.flagged_at >= self.now - RECENT])

    def _finding(self, category, flagged_at, referrer, radiologist):
        rng = self.rng
        policy = self.policies[category]
        f = Finding(
            category=category,
            description=rng.choice(DESCRIPTIONS[category]),
            flagged_by=radiologist,
            flagged_at=flagged_at,
            responsible_clinician=referrer,
            acknowledgement_window=policy.acknowledgement_window,
        )
        if policy.contact_deadline is not None:
            f.contact_due_at = flagged_at + policy.contact_deadline
            f.warning_at = flagged_at + policy.warning_offset()
        f._history_date = flagged_at
        if rng.random() < 0.01:
            f.status = rng.choice([Status.CANCELLED, Status.ENTERED_IN_ERROR])
            f.void_reason = "Synthetic: flagged on the wrong exam."
            return f
        communicated_at = flagged_at + _lognormal_minutes(rng, *CONTACT[category])
        stuck = flagged_at >= self.now - STUCK_WINDOW and rng.random() < STUCK_SHARE
        if stuck and rng.random() < 0.5:
            communicated_at = self.now + timedelta(days=1)  # nobody reached yet
        if communicated_at > self.now:
            f.status = Status.AWAITING_CONTACT
            return f
        f.communicated_at = communicated_at
        if f.acknowledgement_window is not None:
            f.acknowledgement_due_at = communicated_at + f.acknowledgement_window
        if f.contact_due_at is not None and communicated_at > f.contact_due_at:
            f.breach_reason = _weighted(rng, BREACH_REASONS)
            if f.breach_reason == BreachReason.OTHER:
                f.breach_reason_text = "Synthetic: switchboard could not find the team."
        acknowledged_at = communicated_at + _lognormal_minutes(rng, *ACKNOWLEDGE[category])
        if acknowledged_at > self.now or stuck:
            f.status = Status.COMMUNICATED
            return f
        f.acknowledged_at = acknowledged_at
        closed_at = acknowledged_at + timedelta(days=rng.uniform(0.5, 10))
        if closed_at <= self.now:
            f.status, f.closed_at = Status.CLOSED, closed_at
        else:
            f.status = Status.ACKNOWLEDGED
        return f

    def _recent_events(self, findings):
        """The call and the acknowledgement behind the stored times, for the last 30 days."""
        rng = self.rng
        attempts, acks = [], []
        for f in findings:
            if f.communicated_at is None and f.status != Status.AWAITING_CONTACT:
                continue
            if f.communicated_at is None:
                if rng.random() < 0.6:
                    tried = f.flagged_at + timedelta(minutes=rng.randint(2, 20))
                    if tried <= self.now:
                        attempts.append(self._attempt(f, tried, Outcome.NO_ANSWER, False))
                continue
            attempts.append(self._attempt(f, f.communicated_at, Outcome.READ_BACK, True))
            if f.acknowledged_at is not None:
                ack = Acknowledgement(
                    finding=f,
                    acknowledged_by=f.responsible_clinician,
                    acknowledged_at=f.acknowledged_at,
                    planned_action=rng.choice(PlannedAction.values[:-1]),
                )
                ack._history_date = f.acknowledged_at
                acks.append(ack)
        if attempts:
            self._insert(CommunicationAttempt, attempts)
        if acks:
            self._insert(Acknowledgement, acks)

    def _attempt(self, finding, at, outcome, counts):
        attempt = CommunicationAttempt(
            finding=finding,
            caller=finding.flagged_by,
            attempted_at=at,
            contacted_user=finding.responsible_clinician,
            channel=Channel.PHONE,
            outcome=outcome,
            counts_as_communication=counts,
        )
        attempt._history_date = at
        return attempt
