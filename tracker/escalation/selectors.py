"""Reads for the screens: the escalation state of findings, for the timeline and worklists."""

from ..models import Escalation


def escalations_by_finding(finding_ids):
    """{finding id: [escalations, oldest first]} in one query (recipient loaded)."""
    result = {pk: [] for pk in finding_ids}
    rows = (
        Escalation.objects.filter(finding_id__in=finding_ids)
        .select_related("recipient")
        .order_by("created_at", "id")
    )
    for escalation in rows:
        result[escalation.finding_id].append(escalation)
    return result


def latest_escalation(finding_ids):
    """{finding id: its most recent escalation} for a worklist column."""
    return {pk: rows[-1] for pk, rows in escalations_by_finding(finding_ids).items() if rows}
