"""MLLP (Minimal Lower Layer Protocol): <VT> message <FS><CR>, one ACK per message.

A threaded TCP server; each connection is read frame by frame and every complete frame goes to
`ingest.receive`. A frame that never ends (the peer closes, goes quiet, or starts a new frame
first) is kept as a dead letter and answered with AR when the peer can still hear it.
"""

import contextlib
import logging
import select
import socket
import socketserver
import threading
import time

from django.db import connection

from ..models import InboundMessage
from . import ingest

logger = logging.getLogger(__name__)

START = b"\x0b"
END = b"\x1c\x0d"
MAX_FRAME = 4 * 1024 * 1024  # a report is a few KB; refuse to buffer without limit


def frame(payload):
    return START + payload + END


def _ack_bytes(message):
    return message.ack.encode("utf-8")


def _ensure_usable_db():
    """One database connection per MLLP connection (closed when it ends), replaced if broken.

    Like Django's close_if_unusable_or_obsolete, without closing a healthy connection after
    every message (which with CONN_MAX_AGE=0 would reconnect per message).
    """
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()


class MLLPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(self.server.idle_timeout)
        buffer = bytearray()
        try:
            while True:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    chunk = None
                if not chunk:  # closed (b"") or quiet for too long (None)
                    self._truncated(buffer, "connection closed" if chunk == b"" else "timed out")
                    return
                buffer.extend(chunk)
                if not self._drain(buffer):
                    return
        except (ConnectionError, OSError) as exc:
            logger.info("MLLP connection from %s ended: %s", self.client_address[0], exc)
        finally:
            connection.close()

    def _drain(self, buffer):
        """Answer every complete frame in `buffer`; keep the unfinished rest. False: hang up."""
        while True:
            start = buffer.find(START)
            if start < 0:
                buffer.clear()  # bytes outside any frame: noise, nothing to keep
                return True
            if start > 0:
                del buffer[:start]
            end = buffer.find(END, 1)
            restart = buffer.find(START, 1)
            if restart > 0 and (end < 0 or restart < end):
                # A new frame began before this one ended: this one was truncated.
                self._send(self._store_truncated(buffer[1:restart], "new frame started"))
                del buffer[:restart]
                continue
            if end < 0:
                if len(buffer) > MAX_FRAME:
                    self._truncated(buffer, f"frame longer than {MAX_FRAME} bytes")
                    return False
                return True
            payload = bytes(buffer[1:end])
            del buffer[: end + len(END)]
            _ensure_usable_db()
            self._answer(payload)

    def _answer(self, payload):
        try:
            message = ingest.receive(payload, entry_point=InboundMessage.EntryPoint.MLLP)
        except Exception as exc:
            # Not stored (e.g. the database is unavailable): AR, so the sender keeps and resends.
            # Only the error class is logged: its text can quote patient data.
            logger.error("MLLP message could not be stored: %s", type(exc).__name__)
            connection.close()
            self.request.sendall(frame(ingest.storage_failure_ack(payload).encode("utf-8")))
            return
        self._send(message)

    def _store_truncated(self, payload, why):
        _ensure_usable_db()
        return ingest.receive_truncated(
            bytes(payload),
            f"Truncated MLLP frame ({why}) after {len(payload)} bytes.",
            entry_point=InboundMessage.EntryPoint.MLLP,
        )

    def _truncated(self, buffer, why):
        start = buffer.find(START)
        if start < 0:
            return
        message = self._store_truncated(buffer[start + 1 :], why)
        with contextlib.suppress(OSError):  # the peer may have gone: the dead letter is kept
            self._send(message)

    def _send(self, message):
        self.request.sendall(frame(_ack_bytes(message)))


class Balance:
    """Spread connections evenly over worker processes that accept on one listening socket.

    Left to the kernel, whichever process wakes first takes a connection: with 4 senders and 2
    workers it was 3 + 1 in 3 of 10 trials, and the worker with 3 is held to one core by its GIL
    while the other idles. Each worker counts its open connections in shared memory (one slot
    each, written only by its owner); a worker with more than the least busy one lets that one
    take a waiting connection, for up to `patience` seconds, then takes it anyway, so a stuck or
    dead worker never stops the others from accepting.
    """

    def __init__(self, counts, slot, patience=0.05):
        self.counts = counts  # multiprocessing.RawArray("i", workers), created before the fork
        self.slot = slot
        self.patience = patience
        self._lock = threading.Lock()

    def change(self, delta):
        with self._lock:
            self.counts[self.slot] += delta

    def wait_turn(self, sock):
        """Return when this worker should try to accept (the other may have taken it by then)."""
        deadline = time.monotonic() + self.patience
        while self.counts[self.slot] > min(self.counts) and time.monotonic() < deadline:
            time.sleep(0.002)
            if not select.select([sock], [], [], 0)[0]:
                return  # another worker took it


class MLLPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, idle_timeout=60.0):
        self.idle_timeout = idle_timeout
        self.balance = None
        super().__init__(address, MLLPHandler)

    def share(self, balance):
        """Accept alongside other processes (see Balance). Non-blocking accept: a connection
        another worker took first is not waited for."""
        self.balance = balance
        self.socket.setblocking(False)

    def get_request(self):
        if self.balance is not None:
            self.balance.wait_turn(self.socket)
        sock, address = super().get_request()  # BlockingIOError when another worker took it
        if self.balance is not None:
            sock.setblocking(True)
        return sock, address

    def process_request(self, request, client_address):
        if self.balance is not None:
            self.balance.change(+1)
        try:
            super().process_request(request, client_address)
        except BaseException:
            if self.balance is not None:
                self.balance.change(-1)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            if self.balance is not None:
                self.balance.change(-1)


def send(host, port, payloads, timeout=10.0):
    """A small MLLP client (tests, benchmark, smoke checks): send each payload, read each ACK."""
    acks = []
    with socket.create_connection((host, port), timeout=timeout) as sock:
        reader = MLLPReader(sock)
        for payload in payloads:
            sock.sendall(frame(payload))
            acks.append(reader.read())
    return acks


class MLLPReader:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()

    def read(self):
        while True:
            end = self.buffer.find(END)
            if end >= 0:
                start = self.buffer.find(START)
                payload = bytes(self.buffer[start + 1 : end])
                del self.buffer[: end + len(END)]
                return payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("MLLP peer closed before the ACK ended")
            self.buffer.extend(chunk)
