"""Email through Django's email backend: console in demo mode, SMTP in production."""

import contextlib
import smtplib

from django.conf import settings
from django.core import mail

from .base import Channel, DeliveryError


class EmailChannel(Channel):
    name = "email"

    def __init__(self):
        self.connection = None

    def can_reach(self, recipient):
        return bool(recipient.email)

    def open(self):
        self.connection = mail.get_connection(
            fail_silently=False, timeout=settings.ESCALATION_SEND_TIMEOUT_SECONDS
        )

    def close(self):
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None

    def send(self, notice):
        if self.connection is None:
            self.open()
        message = mail.EmailMessage(
            subject=notice.subject,
            body=f"{notice.body}\n\n{notice.url}\n",
            to=[notice.email],
            connection=self.connection,
            headers={
                "Message-ID": f"<{notice.key}@critical-result-tracker>",
                "X-Tracker-Escalation": notice.key,
            },
        )
        try:
            self.connection.open()  # once per batch: a no-op while the connection is open
            sent = message.send()
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            self.close()  # the connection may be half-dead: the next send opens a new one
            raise DeliveryError(f"email: {type(exc).__name__}: {exc}") from exc
        if sent != 1:
            raise DeliveryError("email: the backend accepted no message")
        return f"email accepted for {notice.email}"
