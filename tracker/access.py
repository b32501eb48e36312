"""Who may see and do what. Every view, form, export and API endpoint asks here.

Least privilege: radiologists act on their department's findings; a referrer acts on findings
they are accountable for (or cover); governance leads see everything and change nothing;
administrators configure the site but do not touch clinical records.
"""

from django.db.models import Exists, OuterRef, Q

from .models import Finding, Handover, Role, Status


def visible_findings(user, queryset=None):
    queryset = Finding.objects.all() if queryset is None else queryset
    if not (user.is_authenticated and user.is_active):
        return queryset.none()
    if user.role == Role.GOVERNANCE:
        return queryset
    if user.role == Role.RADIOLOGIST:
        if user.department_id is None:
            return queryset.filter(flagged_by=user)
        return queryset.filter(Q(flagged_by__department_id=user.department_id) | Q(flagged_by=user))
    if user.role == Role.REFERRER:
        # Responsible now, responsible before (handed over or declined), or covering.
        was_responsible = Handover.objects.filter(finding=OuterRef("pk")).filter(
            Q(from_clinician=user) | Q(to_clinician=user)
        )
        return queryset.filter(
            Q(responsible_clinician=user)
            | Q(responsible_clinician__covering_colleague=user)
            | Exists(was_responsible)
        )
    return queryset.none()


def can_view_finding(user, finding):
    return visible_findings(user, Finding.objects.filter(pk=finding.pk)).exists()


def is_radiologist_for(user, finding):
    """A radiologist of the flagging radiologist's department (or the flagger)."""
    if not user.has_role(Role.RADIOLOGIST):
        return False
    if finding.flagged_by_id == user.pk:
        return True
    return user.department_id is not None and user.department_id == finding.flagged_by.department_id


def is_accountable_for(user, finding):
    """The responsible clinician, or the colleague covering for them."""
    if not user.is_active or user.role != Role.REFERRER:
        return False
    responsible = finding.responsible_clinician
    return user.pk == responsible.pk or user.pk == responsible.covering_colleague_id


def can_flag(user):
    return user.has_role(Role.RADIOLOGIST)


def can_log_attempt(user, finding):
    return is_radiologist_for(user, finding)


def can_acknowledge(user, finding):
    return is_accountable_for(user, finding)


def can_decline(user, finding):
    return is_accountable_for(user, finding)


def can_hand_over(user, finding):
    return is_accountable_for(user, finding) or is_radiologist_for(user, finding)


def can_recategorise(user, finding):
    return is_radiologist_for(user, finding)


def can_void(user, finding):
    """Cancel or mark entered-in-error."""
    return is_radiologist_for(user, finding)


def can_close(user, finding):
    return is_accountable_for(user, finding) or is_radiologist_for(user, finding)


def actions_for(user, finding):
    """What the finding page offers this user now (status and permission together)."""
    open_ = finding.status in (Status.AWAITING_CONTACT, Status.COMMUNICATED)
    return {
        "log_attempt": open_ and can_log_attempt(user, finding),
        "acknowledge": finding.status == Status.COMMUNICATED and can_acknowledge(user, finding),
        "decline": open_ and can_decline(user, finding),
        "hand_over": finding.is_open and can_hand_over(user, finding),
        "recategorise": open_ and can_recategorise(user, finding),
        "void": finding.is_open and can_void(user, finding),
        "close": finding.status == Status.ACKNOWLEDGED and can_close(user, finding),
    }


def can_view_governance(user):
    """Governance pages (overdue dashboard, compliance report, breach list): leads only."""
    return user.is_authenticated and user.has_role(Role.GOVERNANCE)


def can_review_breach(user, finding):
    """A governance lead records the review of a breach; it never changes the finding."""
    return can_view_governance(user)
