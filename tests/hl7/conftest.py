import threading
from pathlib import Path

import pytest

from tracker.hl7 import ingest
from tracker.models import InboundMessage

DATA = Path(__file__).resolve().parents[1] / "data"


def load(name, *, segment_separator=b"\r"):
    """A message from tests/data (stored with LF for readability), with CR segment ends."""
    return (DATA / name).read_bytes().replace(b"\n", segment_separator)


def receive(raw):
    return ingest.receive(raw, entry_point=InboundMessage.EntryPoint.HTTP)


def segments(ack):
    return {s.split("|")[0]: s.split("|") for s in ack.strip("\r").split("\r")}


@pytest.fixture
def mllp_server():
    """A real MLLP server on a free port (port 0), in a thread; yields (host, port)."""
    from tracker.hl7.mllp import MLLPServer

    server = MLLPServer(("127.0.0.1", 0), idle_timeout=2.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
