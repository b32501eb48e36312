"""A generic webhook (e.g. a bleep or SMS gateway): POST JSON, 2xx means delivered.

Retries with backoff are the delivery's (tracker.escalation.delivery): a failed POST is recorded
and tried again later; the `Idempotency-Key` header lets the gateway drop a repeated one.
"""

import json
import urllib.error
import urllib.request

from django.conf import settings

from .base import Channel, DeliveryError


class WebhookChannel(Channel):
    name = "webhook"

    def can_reach(self, recipient):
        return bool(settings.ESCALATION_WEBHOOK_URL) and bool(recipient.bleep or recipient.phone)

    def send(self, notice):
        payload = {
            "key": notice.key,
            "recipient": notice.recipient_name,
            "bleep": notice.bleep,
            "phone": notice.phone,
            "message": notice.subject,
            "url": notice.url,
            **notice.data,
        }
        request = urllib.request.Request(  # noqa: S310 - URL is the site's own setting
            settings.ESCALATION_WEBHOOK_URL,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": notice.key},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.ESCALATION_SEND_TIMEOUT_SECONDS
            ) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook: HTTP {status}")
        return f"webhook HTTP {status}"
