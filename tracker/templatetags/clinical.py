"""Clinical display helpers: local time with the zone, deadline countdowns, statuses.

`{{ dt|clinical_time }}` -> "14:32 GMT 23/11/2026" in settings.TIME_ZONE (GMT or BST shown).
`{% deadline finding now %}` -> the coloured badge with its text ("Overdue", "overdue by 12 min").
"""

import math
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import timezone

from ..models import Status

register = template.Library()


def local(value):
    return timezone.localtime(value, ZoneInfo(settings.TIME_ZONE))


@register.filter
def clinical_time(value):
    """'14:32 GMT 23/11/2026'; empty for no time."""
    if not value:
        return ""
    return local(value).strftime("%H:%M %Z %d/%m/%Y")


@register.filter
def clinical_time_iso(value):
    return local(value).isoformat() if value else ""


def duration_text(seconds):
    """'38 min', '2 h 5 min', '3 d 4 h'. Whole minutes, rounded down."""
    minutes = math.floor(abs(seconds) / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def countdown_text(seconds):
    """'38 min left' / 'overdue by 12 min'. Mirrored by tracker/static/tracker/tracker.js."""
    if seconds is None:
        return ""
    if seconds >= 0:
        return "less than 1 min left" if seconds < 60 else f"{duration_text(seconds)} left"
    return "overdue by less than 1 min" if seconds > -60 else f"overdue by {duration_text(seconds)}"


# state -> (label, Bootstrap colour). The label always says what the colour means.
STATE_LABELS = {
    "overdue": ("Overdue", "danger"),
    "warning": ("Due soon", "warning"),
    "on_track": ("On track", "success"),
    "none": ("No deadline", "secondary"),
    "met": ("Met deadline", "success"),
    "late": ("Communicated late", "danger"),
}


def deadline_context(finding, now):
    state = finding.deadline_state(now)
    label, colour = STATE_LABELS[state.state]
    what = "contact"
    if finding.status == Status.COMMUNICATED:
        what = "acknowledgement"
        label = "Acknowledgement overdue" if state.is_overdue else "Awaiting acknowledgement"
        colour = "danger" if state.is_overdue else "primary"
    elif finding.status == Status.AWAITING_CONTACT and state.state != "none":
        label = f"Contact {label.lower()}" if state.state != "on_track" else "On track"
    seconds = state.remaining.total_seconds() if state.remaining is not None else None
    # What the badge becomes when the countdown passes zero in the browser (tracker.js), so a
    # page left open never shows "On track" beside "overdue by 2 min".
    overdue_label = "Acknowledgement overdue" if what == "acknowledgement" else "Contact overdue"
    return {
        "overdue_label": overdue_label if seconds is not None else "",
        "state": state.state,
        "label": label,
        "colour": colour,
        "what": what,
        "seconds": None if seconds is None else int(seconds),
        "countdown": countdown_text(seconds),
    }


@register.inclusion_tag("tracker/partials/deadline.html")
def deadline(finding, now):
    return deadline_context(finding, now)


STATUS_COLOURS = {
    Status.AWAITING_CONTACT: "light border",
    Status.COMMUNICATED: "info",
    Status.ACKNOWLEDGED: "success",
    Status.CLOSED: "secondary",
    Status.CANCELLED: "secondary",
    Status.ENTERED_IN_ERROR: "dark",
}


@register.filter
def status_colour(status):
    return STATUS_COLOURS.get(status, "secondary")


CATEGORY_COLOURS = {"critical": "danger", "significant": "warning", "routine": "secondary"}


@register.filter
def category_colour(category):
    return CATEGORY_COLOURS.get(category, "secondary")
