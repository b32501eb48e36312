"""Chain-head seals: HMAC-signed (seq, entry_hash) lines appended to a file OUTSIDE the database.

A hash chain alone cannot show that links were cut from its end, nor that the whole chain was
recomputed by someone with database access. A seal can: its MAC needs AUDIT_HMAC_KEY, which lives
only in the environment of the sealing process, and the file lives outside the database (ideally
on storage the database administrators cannot write, or shipped to a log server).

Settings: AUDIT_HMAC_KEY (secret), AUDIT_SEAL_PATH (file), AUDIT_SEAL_INTERVAL_MINUTES (beat).
"""

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .. import clock
from . import chain


@dataclass(frozen=True)
class Seal:
    seq: int
    entry_hash: str
    sealed_at: str
    mac: str
    line: int

    def message(self):
        return f"{self.seq}|{self.entry_hash}|{self.sealed_at}".encode()


def _key():
    key = getattr(settings, "AUDIT_HMAC_KEY", "")
    if not key:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY is not set: the audit chain cannot be sealed.")
    return key.encode()


def seal_path():
    path = getattr(settings, "AUDIT_SEAL_PATH", "")
    if not path:
        raise ImproperlyConfigured("AUDIT_SEAL_PATH is not set: nowhere to write audit seals.")
    return Path(path)


def sign(seq, entry_hash, sealed_at):
    message = f"{seq}|{entry_hash}|{sealed_at}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def seal_head():
    """Append a signed seal of the current chain head to the seal file; return (seq, hash)."""
    seq, head_hash = chain.head()
    sealed_at = clock.now().isoformat()
    record = {
        "seq": seq,
        "entry_hash": head_hash,
        "sealed_at": sealed_at,
        "mac": sign(seq, head_hash, sealed_at),
    }
    path = seal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Append-only, owner-readable; fsync so that a crash does not lose a seal we reported.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return seq, head_hash


def read_seals():
    """Every seal in the file, in order. A line that is not a seal is reported as one with an
    empty MAC, so that verification names it instead of skipping it."""
    path = seal_path()
    if not path.exists():
        return []
    seals = []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            seals.append(
                Seal(
                    int(data["seq"]),
                    str(data["entry_hash"]),
                    str(data["sealed_at"]),
                    str(data["mac"]),
                    number,
                )
            )
        except (ValueError, KeyError, TypeError):
            seals.append(Seal(-1, "", "", "", number))
    return seals


def seal_is_authentic(seal):
    expected = sign(seal.seq, seal.entry_hash, seal.sealed_at)
    return bool(seal.mac) and hmac.compare_digest(expected, seal.mac)
