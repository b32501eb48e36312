"""Receive HL7 v2 ORU^R01 over MLLP.

python manage.py mllp_listen --host 127.0.0.1 --port 2575
"""

from django.core.management.base import BaseCommand

from tracker.hl7.mllp import MLLPServer


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

    def handle(self, *args, host, port, idle_timeout, **options):
        server = self.server = MLLPServer((host, port), idle_timeout=idle_timeout)
        bound_host, bound_port = server.server_address[:2]
        self.stdout.write(f"MLLP listening on {bound_host}:{bound_port}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
