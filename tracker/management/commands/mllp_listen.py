"""Receive HL7 v2 ORU^R01 over MLLP.

python manage.py mllp_listen --host 127.0.0.1 --port 2575 [--workers 2]
"""

import multiprocessing
import os
import signal

from django.core.management.base import BaseCommand
from django.db import connections

from tracker.hl7.mllp import Balance, MLLPServer


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
            help="Processes accepting on the same socket (each serves connections in threads).",
        )

    def handle(self, *args, host, port, idle_timeout, workers, **options):
        server = self.server = MLLPServer((host, port), idle_timeout=idle_timeout)
        bound_host, bound_port = server.server_address[:2]
        children = self._fork(server, workers - 1) if workers > 1 else []
        self.stdout.write(f"MLLP listening on {bound_host}:{bound_port}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            for pid in children:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)

    def _fork(self, server, count):
        """Worker processes sharing the listening socket; no database connection crosses a fork."""
        connections.close_all()
        counts = multiprocessing.RawArray("i", count + 1)  # open connections per worker
        server.share(Balance(counts, slot=0))
        children = []
        for slot in range(1, count + 1):
            pid = os.fork()
            if pid == 0:  # child: serve until told to stop
                server.share(Balance(counts, slot=slot))
                signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
                try:
                    server.serve_forever()
                finally:
                    os._exit(0)
            children.append(pid)
        signal.signal(signal.SIGTERM, _stop)  # the parent stops its workers on the way out
        return children
