"""HL7 v2 ingest over MLLP on PostgreSQL: messages per second and ACK latency (p50 / p99).

    .venv/bin/python benchmarks/hl7_ingest.py \
        --database-url postgres://postgres@127.0.0.1:5432/tracker_integration_bench \
        --messages 10000 --connections 4

Starts `manage.py mllp_listen --port 0` as its own process against the benchmark database
(created and migrated if needed), sends ORU^R01 messages over real sockets from N concurrent
MLLP connections (each waits for its ACK before sending the next, as MLLP senders do), and
times each message from the first byte sent to the last byte of its ACK. About 10% of the
messages are flagged critical (OBX-8 AA) and 5% significant (A): they create findings; the rest
register the exam only. Every ACK must be AA, and the database must hold what was sent.

CPU per message is reported for the listener processes (`server_`), their PostgreSQL backends
(`postgresql_`, read from /proc, so only with PostgreSQL on this machine) and this process, the
senders (`client_`): the three share the machine's cores.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tracker_integration_bench"


def ensure_database(url):
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"  # no query log
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def clinicians():
    from tracker.models import Department, Role, User

    radiology, _ = Department.objects.get_or_create(
        code="radiology", defaults={"name": "Radiology"}
    )
    medicine, _ = Department.objects.get_or_create(code="medicine", defaults={"name": "Medicine"})
    User.objects.get_or_create(
        username="bench-radiologist",
        defaults={"role": Role.RADIOLOGIST, "department": radiology, "last_name": "Reader"},
    )
    names = []
    for i in range(20):
        username = f"bench-referrer-{i}"
        User.objects.get_or_create(
            username=username,
            defaults={"role": Role.REFERRER, "department": medicine, "last_name": f"Ref{i}"},
        )
        names.append(username)
    return names


def message(run, i, referrer):
    flag = "AA" if i % 20 in (0, 1) else ("A" if i % 20 == 2 else "")
    accession = f"B{run}-{i:06d}"
    patient = f"BM{i % 2000:07d}"
    segments = [
        f"MSH|^~\\&|BENCHRIS|BENCH|TRACKER|HOSP|20261123140000||ORU^R01^ORU_R01|{run}-{i}|P|2.4",
        f"PID|1||{patient}^^^HOSP^MR||BENCH^Patient{i % 2000}||19700101|F",
        "PV1|1|I|W1^B1",
        f"ORC|RE||{accession}||CM||||20261123133000|||{referrer}^Ref^Alex",
        f"OBR|1||{accession}|CTCHE^CT Chest|||20261123133000|||||||||{referrer}^Ref^Alex"
        "||||||20261123135800||CT|F|||||||bench-radiologist&Reader&Bea",
        "OBX|1|TX|IMP^Impression||Right lower lobe consolidation; small effusion.||||||F",
    ]
    if flag:
        segments.append(f"OBX|2|ST|CRIT^Flag||Flagged result|||{flag}|||F")
    return ("\r".join(segments) + "\r").encode(), bool(flag)


def start_server(workers):
    process = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [
            sys.executable,
            "manage.py",
            "mllp_listen",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--workers",
            str(workers),
        ],  # fmt: skip
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env=os.environ.copy(),
        text=True,
    )
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"mllp_listen did not start: {line!r}")
    return process, int(line.strip().rsplit(":", 1)[1])


def sender(port, payloads, latencies, codes, finished):
    import socket

    from tracker.hl7.mllp import MLLPReader, frame

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = MLLPReader(sock)
        for payload in payloads:
            started = time.perf_counter()
            sock.sendall(frame(payload))
            ack = reader.read()
            latencies.append(time.perf_counter() - started)
            codes.append(ack.split(b"MSA|", 1)[1][:2].decode())
        finished.append(time.perf_counter())  # after the last ACK, before the socket closes


def backend_cpu_seconds(conn, database):
    """CPU seconds used so far by each PostgreSQL backend serving `database` ({pid: s}), read
    from /proc (PostgreSQL on this machine); {} where that cannot be read."""
    pids = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    ).fetchall()
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for (pid,) in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return seconds


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="mllp_listen --workers")
    args = parser.parse_args()

    ensure_database(args.database_url)
    setup_django(args.database_url)
    from tracker.models import Finding, InboundMessage

    referrers = clinicians()
    run = uuid.uuid4().hex[:8]
    messages = [message(run, i, referrers[i % len(referrers)]) for i in range(args.messages)]
    flagged = sum(1 for _, f in messages if f)

    from django.db import connections

    connections.close_all()  # this process's own backend: not counted as the listener's
    load_before = [round(x, 2) for x in os.getloadavg()]
    process, port = start_server(args.workers)
    try:
        shares = [[] for _ in range(args.connections)]
        for i, (payload, _) in enumerate(messages):
            shares[i % args.connections].append(payload)
        latencies, codes, finished = [], [], []
        threads = [
            threading.Thread(target=sender, args=(port, share, latencies, codes, finished))
            for share in shares
        ]
        # PostgreSQL's share: the listener's backends, sampled while they live (they end with
        # their MLLP connection). On its own autocommit connection, once every 0.25 s.
        import psycopg

        database = args.database_url.rsplit("/", 1)[1]
        monitor = psycopg.connect(args.database_url, autocommit=True)
        backends = {}
        client_cpu_started = time.process_time()  # this process: the senders (and the sampling)
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        while alive := [thread for thread in threads if thread.is_alive()]:
            backends.update(backend_cpu_seconds(monitor, database))
            alive[0].join(timeout=0.25)
        elapsed = max(finished) - started
        client_cpu_seconds = time.process_time() - client_cpu_started
        monitor.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    import resource

    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu_seconds = server_cpu.ru_utime + server_cpu.ru_stime

    stored = InboundMessage.objects.filter(message_key__startswith=f"BENCHRIS^BENCH|{run}-")
    result = {
        "messages": args.messages,
        "connections": args.connections,
        "server_workers": args.workers,
        "load_average_before": load_before,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(args.messages / elapsed, 1),
        "ack_p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "ack_p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "ack_max_ms": round(max(latencies) * 1000, 2),
        "ack_mean_ms": round(statistics.mean(latencies) * 1000, 2),
        "server_cpu_ms_per_message": round(server_cpu_seconds / args.messages * 1000, 2),
        "postgresql_cpu_ms_per_message": round(sum(backends.values()) / args.messages * 1000, 2),
        "client_cpu_ms_per_message": round(client_cpu_seconds / args.messages * 1000, 2),
        "acks": {code: codes.count(code) for code in sorted(set(codes))},
        "stored_processed": stored.filter(status="processed").count(),
        "findings_created": Finding.objects.filter(
            exam__accession_number__startswith=f"B{run}-"
        ).count(),
        "flagged_sent": flagged,
    }
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    ok = (
        result["acks"] == {"AA": args.messages}
        and result["stored_processed"] == args.messages
        and result["findings_created"] == flagged
    )
    if not ok:
        raise SystemExit("FAILED: not every message was accepted and recorded")


if __name__ == "__main__":
    main()
