"""Receive HL7 v2 ORU^R01 over MLLP.

python manage.py mllp_listen --host 127.0.0.1 --port 2575 [--workers 2]
"""

import logging
import multiprocessing
import os
import signal
import time

from django.core.management.base import BaseCommand
from django.db import connections

from tracker.hl7.mllp import Balance, MLLPServer

logger = logging.getLogger(__name__)
# A worker that ends sooner than this after it started is replaced only after this long, so a
# fault that kills every new worker at once does not become a tight loop of forks.
RESTART_PAUSE = 1.0


def _stop(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Receive HL7 v2 results over MLLP and answer each with an ACK (AA / AE / AR)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2575, help="0 picks a free port")
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=60.0,
            help="Seconds a connection may stay quiet mid-frame before the frame is truncated.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Worker processes accepting on the same socket (each serves connections in "
            "threads); with more than one, this process only watches them and replaces one "
            "that ends.",
        )

    def handle(self, *args, host, port, idle_timeout, workers, **options):
        server = self.server = MLLPServer((host, port), idle_timeout=idle_timeout)
        bound_host, bound_port = server.server_address[:2]
        self.stdout.write(f"MLLP listening on {bound_host}:{bound_port}", ending="\n")
        self.stdout.flush()
        if workers > 1:
            self._supervise(server, workers)
            return
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

    def _supervise(self, server, workers):
        """Fork the workers, then wait: a worker that ends (a crash, the kernel's OOM killer) is
        replaced in its slot, so the listener never quietly loses capacity. No database
        connection crosses a fork."""
        connections.close_all()
        counts = multiprocessing.RawArray("i", workers)  # open connections per worker
        children = {}  # pid -> (slot, started)
        signal.signal(signal.SIGTERM, _stop)
        try:
            for slot in range(workers):
                children[self._fork(server, counts, slot)] = (slot, time.monotonic())
            while True:
                pid, status = os.wait()
                if pid not in children:
                    continue
                slot, started = children.pop(pid)
                # Only the pid, slot and exit status: nothing of the messages it was serving.
                logger.error(
                    "MLLP worker %s (slot %s) ended (wait status %s); starting another",
                    pid, slot, status,
                )  # fmt: skip
                counts[slot] = 0  # its connections died with it
                if time.monotonic() - started < RESTART_PAUSE:
                    time.sleep(RESTART_PAUSE)
                children[self._fork(server, counts, slot)] = (slot, time.monotonic())
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            for pid in children:
                try:
                    os.kill(pid, signal.SIGTERM)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass

    @staticmethod
    def _fork(server, counts, slot):
        pid = os.fork()
        if pid:
            return pid
        # The worker: serve until told to stop. os._exit: never run the parent's cleanup.
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        server.share(Balance(counts, slot=slot))
        try:
            server.serve_forever()
        finally:
            os._exit(0)
