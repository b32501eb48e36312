"""Escalation latency on PostgreSQL + Redis with one Celery worker and beat.

100,000 open findings, of which 10,000 reach their contact deadline within one minute (each
deadline has two steps: covering colleague and department lead, so 20,000 escalations). The
worker emails every one to an SMTP sink on loopback. Reports p50 / p99 / max lateness (sent_at -
due_at), the lag of recording (created_at - due_at) and the sweep's duration.

    .venv/bin/python benchmarks/escalation.py            # defaults below
    .venv/bin/python benchmarks/escalation.py --findings 20000 --due 2000   # a quick run

Uses its own database (dropped and created again on every run) and the Redis DB it is given.
Bulk inserts (no history rows) are for building the volume only; the engine under test writes
its rows through the services as in production.
"""

import argparse
import logging
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--findings", type=int, default=100_000)
    p.add_argument("--due", type=int, default=10_000, help="of which due in the window")
    p.add_argument("--window", type=int, default=60, help="seconds over which they fall due")
    p.add_argument("--lead", type=int, default=25, help="seconds before the window opens")
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    p.add_argument("--db", default="tracker_escalation_bench")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    p.add_argument("--concurrency", type=int, default=0, help="worker processes (0: one per core)")
    return p.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """An SMTP server that counts what it accepts."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += len(envelope.rcpt_tos)
        return "250 OK"


def recreate_database(args):
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, check=True
    )


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))
    return values[index]


def populate(args):
    """People, exams, and the findings (bulk inserts: volume building only)."""
    from django.contrib.auth.hashers import make_password

    from tracker import clock
    from tracker.models import (
        Department,
        Escalation,
        EscalationStatus,
        EscalationStep,
        Exam,
        Finding,
        Patient,
        Role,
        User,
    )

    rnd = random.Random(42)
    unusable = make_password(None)
    departments = Department.objects.bulk_create(
        [Department(code=f"dept-{i}", name=f"Department {i}") for i in range(10)]
    )
    User.objects.bulk_create(
        [
            User(
                username=f"lead{i}",
                email=f"lead{i}@bench.invalid",
                role=Role.REFERRER,
                department=d,
                password=unusable,
            )
            for i, d in enumerate(departments)
        ]
        + [
            User(username=f"rad{i}", email=f"rad{i}@bench.invalid", role=Role.RADIOLOGIST)
            for i in range(20)
        ]
        + [
            User(
                username=f"ref{i}",
                email=f"ref{i}@bench.invalid",
                role=Role.REFERRER,
                department=departments[i % 10],
                password=unusable,
            )
            for i in range(200)
        ]
        + [User(username="gov", email="gov@bench.invalid", role=Role.GOVERNANCE)]
    )
    for d in departments:
        d.lead = User.objects.get(username=f"lead{d.code.split('-')[1]}")
        d.save()
    referrers = list(User.objects.filter(username__startswith="ref").order_by("pk"))
    for i, r in enumerate(referrers):
        r.covering_colleague = referrers[(i + 1) % len(referrers)]
    User.objects.bulk_update(referrers, ["covering_colleague"])
    radiologists = list(User.objects.filter(username__startswith="rad"))
    patients = Patient.objects.bulk_create(
        [Patient(identifier=f"B{i:07d}", family_name=f"Bench{i}") for i in range(1000)]
    )
    exams = Exam.objects.bulk_create(
        [
            Exam(
                accession_number=f"BENCH{i:07d}", patient=p, modality="CT", ordering_clinician=None
            )
            for i, p in enumerate(patients)
        ]
    )

    now = clock.now()
    background = args.findings - args.due
    for start in range(0, background, 10_000):
        batch = []
        for _ in range(min(10_000, background - start)):
            flagged = now - timedelta(seconds=rnd.uniform(0, 10 * 3600))
            batch.append(
                Finding(
                    exam=rnd.choice(exams),
                    description="Benchmark finding",
                    category="significant",
                    flagged_by=rnd.choice(radiologists),
                    flagged_at=flagged,
                    responsible_clinician=rnd.choice(referrers),
                    contact_due_at=flagged + timedelta(hours=24),
                    warning_at=flagged + timedelta(hours=12),
                    acknowledgement_window=timedelta(hours=24),
                    next_escalation_at=flagged + timedelta(hours=12),
                )
            )
        Finding.objects.bulk_create(batch)

    # The 10,000 falling due in the window; their warning reminders went out 5 minutes ago.
    t0 = clock.now() + timedelta(seconds=args.lead)
    due = []
    for i in range(args.due):
        deadline = t0 + timedelta(seconds=args.window * i / args.due)
        due.append(
            Finding(
                exam=rnd.choice(exams),
                description="Benchmark finding (due)",
                category="critical",
                flagged_by=rnd.choice(radiologists),
                flagged_at=deadline - timedelta(hours=1),
                responsible_clinician=rnd.choice(referrers),
                contact_due_at=deadline,
                warning_at=deadline - timedelta(minutes=30),
                acknowledgement_window=timedelta(hours=1),
                next_escalation_at=deadline,
            )
        )
    due = Finding.objects.bulk_create(due, batch_size=5000)
    earlier = clock.now() - timedelta(minutes=5)
    Escalation.objects.bulk_create(
        [
            Escalation(
                finding=f,
                step=EscalationStep.WARNING_REMINDER,
                sequence=0,
                recipient=f.flagged_by,
                due_at=f.warning_at,
                created_at=earlier,
                status=EscalationStatus.SENT,
                sent_at=earlier,
            )
            for f in due
        ],
        batch_size=5000,
    )
    return t0, [f.pk for f in due]


def cpu_seconds(pids):
    """user + system CPU of these processes so far (Linux /proc; 0 for any that has gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def group_pids(pgid):
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def start(name, args, logdir):
    log = open(logdir / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def main():
    args = parse_args()
    port = free_port()
    os.environ.update(
        DATABASE_URL=f"{args.pg}/{args.db}",
        CELERY_BROKER_URL=args.redis,
        DJANGO_SETTINGS_MODULE="benchmarks.bench_settings",
        BENCH_SMTP_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    began = time.monotonic()
    recreate_database(args)
    import django

    django.setup()
    import redis
    from aiosmtpd.controller import Controller
    from django.db import connection

    from tracker import clock
    from tracker.escalation import engine
    from tracker.models import Escalation, EscalationStatus, EscalationStep, Finding

    redis.Redis.from_url(args.redis).flushdb()
    # aiosmtpd logs every SMTP command at INFO: five lines a message, printed by this process on
    # the cores the system under test needs. The sink counts; it does not log.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()

    t_pop = time.monotonic()
    from tracker.audit.bulk import allow_bulk

    # Synthetic volume with no history rows: verify_audit is not run on this benchmark database.
    with allow_bulk("escalation benchmark: synthetic open findings"):
        t0, due_ids = populate(args)
    print(
        f"Populated {Finding.objects.count():,} open findings "
        f"({len(due_ids):,} due between +{args.lead}s and +{args.lead + args.window}s) "
        f"in {time.monotonic() - t_pop:.1f}s"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()

    bench_cpu_before = sum(os.times()[:2])  # the volume is built: count the sink's share only
    logdir = BASE_DIR / "var" / "bench"
    logdir.mkdir(parents=True, exist_ok=True)
    worker = start(
        "worker",
        [
            "worker",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            *([f"--concurrency={args.concurrency}"] if args.concurrency else []),
        ],
        logdir,
    )
    beat = start("beat", ["beat", "--loglevel=INFO"], logdir)
    expected = 2 * len(due_ids)
    steps = [EscalationStep.DEADLINE_COVER, EscalationStep.DEADLINE_DEPARTMENT_LEAD]
    measured = Escalation.objects.filter(finding_id__in=due_ids, step__in=steps)
    # Only the due findings reach a deadline step during the run, so the progress check need not
    # send their 10,000 ids every 2 s (the results below do, once).
    progress = Escalation.objects.filter(step__in=steps, status=EscalationStatus.SENT)
    deadline = t0 + timedelta(seconds=args.window + 180)
    try:
        while clock.now() < deadline:
            done = progress.count()
            if done >= expected:
                break
            time.sleep(2)
        time.sleep(3)
    finally:
        # CPU used during the run, read before the processes stop (PostgreSQL: the backends
        # still connected to the benchmark database).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [args.db],
            )
            backends = [row[0] for row in cursor.fetchall()]
        cpu = {
            "worker": cpu_seconds(group_pids(worker.pid)),
            "beat": cpu_seconds(group_pids(beat.pid)),
            f"PostgreSQL ({len(backends)} backends)": cpu_seconds(backends),
            "benchmark + SMTP sink": sum(os.times()[:2]) - bench_cpu_before,
        }
        for proc in (beat, worker):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in (beat, worker):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        controller.stop()

    rows = list(measured.values_list("status", "due_at", "created_at", "sent_at"))
    sent = [r for r in rows if r[0] == EscalationStatus.SENT]
    late = [(r[3] - r[1]).total_seconds() for r in sent]
    lag = [(r[2] - r[1]).total_seconds() for r in rows]
    total = Escalation.objects.filter(finding_id__in=due_ids).exclude(
        step=EscalationStep.WARNING_REMINDER
    )
    log = (logdir / "worker.log").read_text()
    busy = [float(s) for s in re.findall(r"Escalation sweep: .* dispatched in ([\d.]+)s", log)]
    sweeps = [
        float(s) for s in re.findall(r"escalation_sweep\[[^\]]+\] succeeded in ([\d.]+)s", log)
    ]

    # The sweep's two questions, on the full table, with nothing due: what it costs every second.
    idle = []
    probe = clock.now() - timedelta(hours=2)
    for _ in range(20):
        started = time.monotonic()
        engine.due_finding_ids(probe, 500)
        Escalation.objects.filter(
            status=EscalationStatus.PENDING, next_attempt_at__lte=probe
        ).exists()
        idle.append(time.monotonic() - started)
    open_count = Finding.objects.open().count()

    def fmt(values, scale=1, unit="s"):
        if not values:
            return "n/a"
        p50, p99 = percentile(values, 50) * scale, percentile(values, 99) * scale
        return f"p50 {p50:.3f}{unit}, p99 {p99:.3f}{unit}, max {max(values) * scale:.3f}{unit}"

    print(f"Escalations expected {expected:,}; recorded {len(rows):,}; sent {len(sent):,}")
    print(f"Other escalations on those findings (should be 0): {total.count() - len(rows)}")
    print(f"Emails accepted by the SMTP sink: {sink.count:,}")
    print(f"Lateness sent_at - due_at: {fmt(late)}")
    print(f"Recording lag created_at - due_at: {fmt(lag)}")
    print(f"Sweep task duration, all {len(sweeps)} sweeps: {fmt(sweeps)}")
    print(f"Sweep duration when it recorded something ({len(busy)} sweeps): {fmt(busy)}")
    print(
        f"Sweep queries with nothing due, {open_count:,} open findings, 20 runs: "
        f"{fmt(idle, 1000, ' ms')}"
    )
    print(f"Mean lateness {statistics.mean(late):.3f}s" if late else "Nothing was sent")
    per = ", ".join(
        f"{k} {v:.1f} s ({1000 * v / max(1, len(rows)):.2f} ms)" for k, v in cpu.items()
    )
    print(f"CPU during the run (per escalation recorded): {per}")
    print(f"Total benchmark time {time.monotonic() - began:.0f}s; logs in {logdir}")


if __name__ == "__main__":
    main()
