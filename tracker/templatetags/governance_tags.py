"""Template helpers for the governance pages."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .. import access

register = template.Library()


@register.simple_tag
def finding_url(pk):
    """The finding's timeline: the workflow screens' `finding_detail` page; until that URL
    name exists on this branch, its documented path /findings/<pk>/."""
    try:
        return reverse("finding_detail", args=[pk])
    except NoReverseMatch:
        return f"/findings/{pk}/"


@register.filter
def local_stamp(value):
    """'14:32 GMT 23/11/2026': site local time with the zone."""
    if value is None:
        return "—"
    return timezone.localtime(value).strftime("%H:%M %Z %d/%m/%Y")


@register.filter
def duration_text(value):
    """A timedelta as '1 h 05 min', '35 min' or '2 d 3 h' (absolute value)."""
    if value is None:
        return "—"
    total = abs(int(value.total_seconds())) // 60
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


@register.filter
def minutes(seconds):
    """Seconds as minutes with one decimal: '42.5 min'."""
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} min"


@register.filter
def pct(value):
    return "—" if value is None else f"{value:.1f}%"


@register.filter
def governance_lead(user):
    return access.can_view_governance(user)
