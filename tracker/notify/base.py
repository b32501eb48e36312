"""The channel interface. A channel sends one Notice to one person and says what happened."""

from dataclasses import dataclass, field


class DeliveryError(Exception):
    """The channel could not deliver; the message says why (kept on the escalation)."""


@dataclass(frozen=True)
class Notice:
    """What a person is told. No patient name or identifier: the accession number and a link."""

    key: str  # stable per escalation: receivers can drop a duplicate (Message-ID, Idempotency-Key)
    recipient_name: str
    email: str
    bleep: str
    phone: str
    subject: str
    body: str
    url: str
    data: dict = field(default_factory=dict)


class Channel:
    name = ""

    def can_reach(self, recipient):
        raise NotImplementedError

    def open(self):
        """Start a batch (e.g. one SMTP connection for many messages)."""

    def close(self):
        """End a batch."""

    def send(self, notice):
        """Deliver, or raise DeliveryError. Returns a short description of the result."""
        raise NotImplementedError
