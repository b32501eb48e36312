"""Notification channels: one module each, one small interface (base.Channel).

`channels_for(recipient)` lists the channels that can reach a person under the site's settings
(ESCALATION_CHANNELS, ESCALATION_WEBHOOK_URL).
"""

from django.conf import settings

from .base import Channel, DeliveryError, Notice
from .email import EmailChannel
from .webhook import WebhookChannel

CHANNELS = {EmailChannel.name: EmailChannel, WebhookChannel.name: WebhookChannel}


def enabled_channels():
    return [CHANNELS[name]() for name in settings.ESCALATION_CHANNELS]


def channels_for(recipient, channels=None):
    channels = enabled_channels() if channels is None else channels
    return [channel for channel in channels if channel.can_reach(recipient)]


__all__ = ["CHANNELS", "Channel", "DeliveryError", "Notice", "channels_for", "enabled_channels"]
