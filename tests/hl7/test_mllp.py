"""MLLP over a real socket (a free port), and the HTTP entry point sharing the same parser."""

import io
import socket
import threading
import time

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tracker.hl7.mllp import START, Balance, MLLPReader, frame, send
from tracker.management.commands.mllp_listen import Command
from tracker.models import Finding, InboundMessage, MessageStatus

from .conftest import load, segments

live = pytest.mark.django_db(transaction=True)


@live
def test_an_mllp_round_trip_answers_each_message_on_one_connection(
    mllp_server, radiologist, referrer
):
    host, port = mllp_server

    acks = send(
        host,
        port,
        [load("oru_v23_critical_aa.hl7"), load("oru_v25_unflagged.hl7"), load("missing_pid.hl7")],
    )

    codes = [segments(a.decode())["MSA"][1:3] for a in acks]
    assert codes == [["AA", "CRIS-0001"], ["AA", "CRIS-0002"], ["AE", "BAD-0002"]]
    assert Finding.objects.get().exam.accession_number == "ACC-23-0001"
    assert InboundMessage.objects.filter(entry_point="mllp").count() == 3


@live
def test_a_resend_over_mllp_gets_the_same_ack(mllp_server, radiologist, referrer):
    host, port = mllp_server
    raw = load("oru_v23_critical_aa.hl7")

    first = send(host, port, [raw])[0]
    again = send(host, port, [raw])[0]

    assert again == first
    assert Finding.objects.count() == 1 and InboundMessage.objects.count() == 1


@live
def test_a_truncated_frame_is_answered_ar_and_kept(mllp_server, referrer):
    host, port = mllp_server
    partial = load("oru_v23_critical_aa.hl7")[:120]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(START + partial)  # no end block
        sock.shutdown(socket.SHUT_WR)  # the sender gives up mid-frame
        ack = MLLPReader(sock).read().decode()

    assert segments(ack)["MSA"][1] == "AR"
    assert "Truncated" in segments(ack)["MSA"][3]
    stored = InboundMessage.objects.get()
    assert stored.status == MessageStatus.REJECTED and bytes(stored.raw) == partial
    assert not Finding.objects.exists()


@live
def test_a_frame_cut_short_by_the_next_one_is_kept_and_the_next_processed(mllp_server, referrer):
    host, port = mllp_server
    partial = load("oru_v25_unflagged.hl7")[:90]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(START + partial + frame(load("oru_v25_unflagged.hl7")))
        reader = MLLPReader(sock)
        first, second = reader.read().decode(), reader.read().decode()

    assert segments(first)["MSA"][1] == "AR"
    assert segments(second)["MSA"][1:3] == ["AA", "CRIS-0002"]
    assert InboundMessage.objects.filter(status=MessageStatus.REJECTED).count() == 1
    assert InboundMessage.objects.filter(status=MessageStatus.PROCESSED).count() == 1


@live
def test_a_sender_that_goes_quiet_mid_frame_gets_ar_after_the_idle_timeout(mllp_server):
    host, port = mllp_server
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(START + b"MSH|^~\\&|CRIS|RAD1|TRACKER|HOSP|2026")
        ack = MLLPReader(sock).read().decode()  # server idle timeout is 2 s in tests

    assert segments(ack)["MSA"][1] == "AR"
    assert InboundMessage.objects.dead_letters().count() == 1


@live
def test_mllp_listen_command_serves_on_the_port_it_was_given(referrer):
    out = io.StringIO()
    command = Command()
    thread = threading.Thread(
        target=call_command,
        args=(command, "--host", "127.0.0.1", "--port", "0", "--idle-timeout", "2"),
        kwargs={"stdout": out},
        daemon=True,
    )
    thread.start()
    for _ in range(100):
        if "listening on" in out.getvalue():
            break
        time.sleep(0.05)
    port = int(out.getvalue().strip().rsplit(":", 1)[1])
    try:
        ack = send("127.0.0.1", port, [load("oru_v25_unflagged.hl7")])[0]
    finally:
        command.server.shutdown()
        thread.join(timeout=5)

    assert ack.startswith(b"MSH|")
    assert segments(ack.decode())["MSA"][1] == "AA"


# Worker processes sharing the port -----------------------------------------------------


@pytest.fixture
def waiting_connection():
    """A listening socket with one connection waiting to be accepted; yields the socket."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    client = socket.create_connection(listener.getsockname()[:2])
    time.sleep(0.05)  # the handshake completes in the kernel: the listener is readable
    yield listener
    client.close()
    listener.close()


def test_the_least_busy_worker_accepts_without_waiting(waiting_connection):
    started = time.monotonic()
    Balance([1, 2], slot=0, patience=1.0).wait_turn(waiting_connection)

    assert time.monotonic() - started < 0.1


def test_a_busier_worker_leaves_the_connection_to_the_least_busy_one(waiting_connection):
    taker = threading.Timer(0.1, waiting_connection.accept)  # the other worker, a little later
    taker.start()
    started = time.monotonic()
    Balance([2, 1], slot=0, patience=5.0).wait_turn(waiting_connection)
    waited = time.monotonic() - started
    taker.join()

    assert 0.05 < waited < 1.0  # until the other took it, not its whole patience


def test_a_busier_worker_takes_the_connection_when_the_other_does_not(waiting_connection):
    started = time.monotonic()
    Balance([2, 1], slot=0, patience=0.2).wait_turn(waiting_connection)

    assert 0.15 < time.monotonic() - started < 1.0
    assert waiting_connection.accept()  # still there for this worker


# HTTP entry point ---------------------------------------------------------------------


@pytest.fixture
def interface_account(db):
    from tests.factories import UserFactory

    user = UserFactory(username="ris-feed", role="", department=None)
    user.user_permissions.add(Permission.objects.get(codename="submit_hl7"))
    return user


@pytest.mark.django_db
def test_http_post_of_a_message_returns_its_ack(client, interface_account, radiologist, referrer):
    token = Token.objects.create(user=interface_account)

    response = client.post(
        "/hl7/v2/messages",
        data=load("oru_v23_critical_aa.hl7"),
        content_type="x-application/hl7-v2+er7",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("x-application/hl7-v2+er7")
    assert segments(response.content.decode())["MSA"][1:3] == ["AA", "CRIS-0001"]
    assert InboundMessage.objects.get().entry_point == "http"
    assert Finding.objects.count() == 1


@pytest.mark.django_db
def test_http_ingest_refuses_an_account_without_the_hl7_permission(client, stranger):
    client.force_login(stranger)

    response = client.post(
        "/hl7/v2/messages", data=load("oru_v23_critical_aa.hl7"), content_type="text/plain"
    )

    assert response.status_code == 403
    assert "submit_hl7" in response.json()["detail"]
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_http_ingest_needs_authentication(client):
    response = client.post("/hl7/v2/messages", data=b"MSH|", content_type="text/plain")

    assert response.status_code == 401
    assert not InboundMessage.objects.exists()


@live
def test_concurrent_messages_for_the_same_new_exam_are_all_recorded_once(mllp_server, referrer):
    host, port = mllp_server
    base = load("oru_v25_unflagged.hl7")
    payloads = [base.replace(b"CRIS-0002", f"CRIS-RACE-{i}".encode()) for i in range(4)]
    barrier = threading.Barrier(len(payloads))
    acks = {}

    def send_one(i):
        barrier.wait()
        acks[i] = send(host, port, [payloads[i]])[0].decode()

    threads = [threading.Thread(target=send_one, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Every message is answered; one the database could not take just then is AR (resend).
    assert {segments(a)["MSA"][1] for a in acks.values()} <= {"AA", "AR"}
    for i, ack in acks.items():
        if segments(ack)["MSA"][1] == "AR":
            assert "resend" in segments(ack)["MSA"][3]
            assert segments(send(host, port, [payloads[i]])[0].decode())["MSA"][1] == "AA"

    from tracker.models import Exam, Patient

    assert InboundMessage.objects.filter(status=MessageStatus.PROCESSED).count() == 4
    assert Exam.objects.count() == 1 and Patient.objects.count() == 1


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(p) for p in f.read().split()}


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_worker_that_dies_is_replaced_and_all_stop_with_the_listener():
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        pytest.skip("needs /proc/<pid>/task/<pid>/children (Linux)")
    root = Path(__file__).resolve().parents[2]
    listener = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", "mllp_listen", "--port", "0", "--workers", "2"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(listener.stdout.readline().strip().rsplit(":", 1)[1])
        first = _wait_for(lambda: (c := _children(listener.pid)) and len(c) == 2 and c)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # Replaced in its slot (after RESTART_PAUSE: it had only just started).
        now = _wait_for(lambda: (c := _children(listener.pid)) - first and len(c) == 2 and c)
        assert victim not in now and len(now & first) == 1
        for _ in range(4):  # still accepting, on whichever worker
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        listener.terminate()
        _, stderr = listener.communicate(timeout=15)
    assert listener.returncode == 0
    assert f"MLLP worker {victim} (slot " in stderr and "starting another" in stderr
    for pid in now:  # stopped and reaped by the listener
        assert not Path(f"/proc/{pid}").exists()
