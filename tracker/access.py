"""Who may see and do what. Every view, form, export and API endpoint asks here.

Least privilege: radiologists act on their department's findings; a referrer acts on findings
they are accountable for (or cover); governance leads see everything and change nothing;
administrators configure the site but do not touch clinical records.
"""

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from .models import Escalation, Finding, Handover, Role, Status


def is_system_account(user):
    """An integration account (the HL7 interface): it may flag, never be accountable."""
    return user is not None and user.username == settings.HL7_INTERFACE_USERNAME


def _escalated_to(user):
    """Findings an escalation was addressed to this user for: whoever is asked to act can open
    the finding the message points to."""
    return Exists(Escalation.objects.filter(finding=OuterRef("pk"), recipient=user))


def visible_findings(user, queryset=None):
    queryset = Finding.objects.all() if queryset is None else queryset
    if not (user.is_authenticated and user.is_active):
        return queryset.none()
    if user.role == Role.GOVERNANCE:
        return queryset
    if user.role == Role.RADIOLOGIST:
        mine = Q(flagged_by=user) | Q(responsible_clinician=user) | _escalated_to(user)
        if user.department_id is None:
            return queryset.filter(mine)
        return queryset.filter(
            mine
            | Q(flagged_by__department_id=user.department_id)
            # Unrouted results owned by the department's duty account.
            | Q(unrouted=True, responsible_clinician__department_id=user.department_id)
        )
    if user.role == Role.REFERRER:
        # Responsible now, responsible before (handed over or declined), covering, leading the
        # responsible clinician's department, or escalated to.
        was_responsible = Handover.objects.filter(finding=OuterRef("pk")).filter(
            Q(from_clinician=user) | Q(to_clinician=user)
        )
        return queryset.filter(
            Q(responsible_clinician=user)
            | Q(responsible_clinician__covering_colleague=user)
            | Q(responsible_clinician__department__lead=user)
            | Exists(was_responsible)
            | _escalated_to(user)
        )
    return queryset.none()


def can_view_finding(user, finding):
    return visible_findings(user, Finding.objects.filter(pk=finding.pk)).exists()


def is_radiologist_for(user, finding):
    """A radiologist of the flagging radiologist's department (or the flagger), or the one an
    unrouted finding is with (and their department)."""
    if not user.has_role(Role.RADIOLOGIST):
        return False
    if user.pk in (finding.flagged_by_id, finding.responsible_clinician_id):
        return True
    if user.department_id is None:
        return False
    if user.department_id == finding.flagged_by.department_id:
        return True
    return finding.unrouted and user.department_id == finding.responsible_clinician.department_id


def is_accountable_for(user, finding):
    """The responsible clinician, the colleague covering for them, or the lead of their
    department (escalated to at the deadline, and able to act)."""
    if not user.is_active or user.role != Role.REFERRER or finding.unrouted:
        return False
    responsible = finding.responsible_clinician
    if user.pk in (responsible.pk, responsible.covering_colleague_id):
        return True
    department = responsible.department
    return department is not None and department.lead_id == user.pk


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
    """Cancel or mark entered-in-error: the flagging radiologist, a radiologist of the
    department, or a governance lead."""
    return is_radiologist_for(user, finding) or user.has_role(Role.GOVERNANCE)


def can_route(user, finding):
    """Route an unrouted finding to the accountable referrer."""
    return finding.unrouted and is_radiologist_for(user, finding)


def can_correct_record(user, finding):
    """Correct the patient's or exam's details of a finding (with a reason)."""
    return is_radiologist_for(user, finding)


def can_correct_patient(user, patient):
    return (
        user.has_role(Role.RADIOLOGIST)
        and visible_findings(user, Finding.objects.filter(exam__patient=patient)).exists()
    )


def can_correct_exam(user, exam):
    return (
        user.has_role(Role.RADIOLOGIST)
        and visible_findings(user, Finding.objects.filter(exam=exam)).exists()
    )


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
        "void": finding.status != Status.ENTERED_IN_ERROR
        and finding.status != Status.CANCELLED
        and can_void(user, finding),
        "route": finding.unrouted and can_route(user, finding),
        "correct": can_correct_record(user, finding),
        "close": finding.status == Status.ACKNOWLEDGED and can_close(user, finding),
    }


def can_view_access_log(user):
    """The read access log (who viewed what) is for governance leads."""
    return user.is_authenticated and user.has_role(Role.GOVERNANCE)


def can_view_governance(user):
    """Governance pages (overdue dashboard, compliance report, breach list): leads only."""
    return user.is_authenticated and user.has_role(Role.GOVERNANCE)


def can_review_breach(user, finding):
    """A governance lead records the review of a breach; it never changes the finding."""
    return can_view_governance(user)


# --- The access-control matrix -------------------------------------------------------------
# Expected status of a GET to every URL pattern of the project, per role, checked by
# tests/security/test_access_matrix.py, which walks the URL resolver: a URL that is not matched
# here fails that test by name. Keys are "namespace:url_name" (fnmatch patterns allowed); the
# first matching rule wins. 302 for anonymous = sent to the login page. 404 = not yours (or not
# there): object-level refusals never reveal that the object exists.
ROLES = ("anonymous", "radiologist", "referrer", "governance", "administrator")
# Read-only clinical records in the admin (tracker/admin.py ReadOnlyClinicalAdmin).
CLINICAL_ADMIN = (
    "finding",
    "patient",
    "exam",
    "communicationattempt",
    "acknowledgement",
    "handover",
    "escalation",
    "notificationattempt",
    "findingaccess",
    "auditentry",
)


def _expect(anonymous, radiologist, referrer, governance, administrator):
    statuses = (anonymous, radiologist, referrer, governance, administrator)
    return dict(zip(ROLES, statuses, strict=True))


SIGNED_IN = _expect(302, 200, 200, 200, 200)
ANYONE = _expect(200, 200, 200, 200, 200)
GOVERNANCE_ONLY = _expect(302, 404, 404, 200, 404)
GOVERNANCE_PAGE = _expect(302, 403, 403, 200, 403)
# Non-staff are sent to the admin login page; administrators are staff.
ADMIN_ONLY = _expect(302, 302, 302, 302, 200)
ADMIN_REFUSED = _expect(302, 302, 302, 302, 403)
ADMIN_POST_ONLY = _expect(302, 302, 302, 302, 405)

# The clinical screens. A signed-in user without the role for a screen gets 403 (the screen
# exists for them, it is not theirs); a finding they may not see is 404 (it does not exist for
# them). Administrators see no clinical finding outside the admin. The finding used here is
# flagged by the radiologist, for the referrer, read back and acknowledged.
RADIOLOGIST_SCREEN = _expect(302, 200, 403, 403, 403)
REFERRER_SCREEN = _expect(302, 403, 200, 403, 403)

URL_ACCESS = [
    # Each role is sent on to its list; administrators (no clinical list) get a page.
    ("home", _expect(302, 302, 302, 302, 200)),
    ("worklist", RADIOLOGIST_SCREEN),
    ("inbox", REFERRER_SCREEN),
    ("open_findings", SIGNED_IN),  # each sees the findings visible to them (none: empty list)
    ("flag", RADIOLOGIST_SCREEN),
    ("exam_lookup", RADIOLOGIST_SCREEN),
    ("finding", _expect(302, 200, 200, 200, 404)),
    ("log_call", _expect(302, 200, 403, 403, 404)),
    ("acknowledge", _expect(302, 403, 200, 403, 404)),
    ("hand_over", _expect(302, 200, 200, 403, 404)),
    ("decline", _expect(302, 403, 200, 403, 404)),
    ("close", _expect(302, 302, 302, 403, 404)),  # POST only; a GET goes back to the finding
    # Corrections (tracker/views/corrections.py). A GET shows the form alone; when the finding's
    # state does not allow it (the matrix's finding is acknowledged and routed), it goes back
    # to the finding with a message (302).
    ("cancel", _expect(302, 200, 403, 200, 404)),  # governance may cancel (access.can_void)
    ("entered_in_error", _expect(302, 200, 403, 200, 404)),
    ("recategorise", _expect(302, 302, 403, 403, 404)),
    ("correct_patient", _expect(302, 200, 403, 403, 404)),
    ("correct_exam", _expect(302, 200, 403, 403, 404)),
    ("route", _expect(302, 302, 403, 403, 404)),
    ("login", ANYONE),
    # Monitoring, no sign-in, no patient data. No sweep has run in the matrix's database, so the
    # answer is 503 ("failing") for everyone; tests/test_health.py checks the 200.
    ("health", _expect(503, 503, 503, 503, 503)),
    ("logout", _expect(405, 405, 405, 405, 405)),  # POST only (CSRF-protected)
    ("password_change", SIGNED_IN),
    ("password_change_done", SIGNED_IN),
    ("password_reset", ANYONE),
    ("password_reset_done", ANYONE),
    ("password_reset_confirm", ANYONE),  # an invalid token shows "link invalid"
    ("password_reset_complete", ANYONE),
    ("audit:finding_access_log", GOVERNANCE_ONLY),
    # Governance pages: other roles are told no (403); the issue asks for exactly that.
    ("governance:dashboard", GOVERNANCE_PAGE),
    ("governance:report", GOVERNANCE_PAGE),
    ("governance:report_findings", GOVERNANCE_PAGE),
    ("governance:breaches", GOVERNANCE_PAGE),
    # The matrix's finding was read back on time: it has no breach to review, so 404 even for
    # governance (reviewing a real breach is tested in tests/governance/test_breach_review.py).
    ("governance:breach_review", _expect(302, 403, 403, 404, 403)),
    # Integration. Systems use tokens, people sessions; anonymous callers get 401.
    ("api:finding-list", _expect(401, 200, 200, 200, 200)),  # each sees what access allows
    ("api:finding-detail", _expect(401, 200, 200, 200, 404)),
    ("api:finding-acknowledge", _expect(401, 405, 405, 405, 405)),  # POST only
    ("api:finding-attempts", _expect(401, 405, 405, 405, 405)),  # POST only
    ("api:finding-hand-over", _expect(401, 405, 405, 405, 405)),  # POST only
    # Corrections and the other actions: POST only.
    ("api:finding-cancel", _expect(401, 405, 405, 405, 405)),
    ("api:finding-entered-in-error", _expect(401, 405, 405, 405, 405)),
    ("api:finding-recategorise", _expect(401, 405, 405, 405, 405)),
    ("api:finding-decline", _expect(401, 405, 405, 405, 405)),
    ("api:finding-close", _expect(401, 405, 405, 405, 405)),
    ("api:finding-route", _expect(401, 405, 405, 405, 405)),
    ("api:<route api/v1/^.*$>", _expect(404, 404, 404, 404, 404)),  # JSON 404 for unknown paths
    ("api-schema", ANYONE),  # the API's shape, no data
    ("api-docs", ANYONE),
    ("fhir:metadata", ANYONE),  # a FHIR server's CapabilityStatement is public
    ("fhir:*-search", _expect(401, 200, 200, 200, 200)),  # searches filtered by access
    ("fhir:*", _expect(401, 200, 200, 200, 404)),  # reads: an invisible resource is 404
    # POST only, and only for accounts holding tracker.submit_hl7 (the RIS interface).
    ("hl7:messages", _expect(401, 403, 403, 403, 405)),
    ("admin:tracker_inboundmessage_add", ADMIN_REFUSED),  # messages arrive, nobody types them
    ("admin:login", _expect(200, 200, 200, 200, 302)),  # staff already signed in: redirected
    ("admin:logout", ADMIN_POST_ONLY),
    # Administrators configure; they never add, change, delete or revert clinical records.
    *[(f"admin:tracker_{m}_add", ADMIN_REFUSED) for m in CLINICAL_ADMIN],
    *[(f"admin:tracker_{m}_delete", ADMIN_REFUSED) for m in CLINICAL_ADMIN],
    # Configuration is not deleted either (it is referenced by history); policy rows are fixed.
    ("admin:tracker_*_delete", ADMIN_REFUSED),
    ("admin:tracker_communicationpolicy_add", ADMIN_REFUSED),
    # A past version is shown read-only; a POST (revert) is refused (tested separately).
    ("admin:tracker_*_simple_history", ADMIN_ONLY),
    # Without its term/app_label/model_name/field_name parameters the admin refuses it.
    ("admin:autocomplete", ADMIN_REFUSED),
    # No clinical model has a public page in the admin sense ("view on site").
    ("admin:view_on_site", _expect(302, 302, 302, 302, 404)),
    # Lock-out records are written by django-axes only; administrators may delete an
    # attempt record to unlock an account.
    ("admin:axes_*_add", ADMIN_REFUSED),
    # Django's old-style "<id>/" admin URLs redirect to "<id>/change/" (then as above).
    ("admin:<route admin/*/<path:object_id>/>", _expect(302, 302, 302, 302, 302)),
    ("admin:<route admin/(?P<url>.*)$>", _expect(302, 302, 302, 302, 404)),  # catch-all
    ("admin:*", ADMIN_ONLY),
]

# URL patterns whose arguments name a clinical object, and which kind: the IDOR test
# (tests/security/test_idor.py) changes the id to one the user may not see and expects 404.
OBJECT_URLS = {
    "audit:finding_access_log": "finding",
    "finding": "finding",
    "log_call": "finding",
    "acknowledge": "finding",
    "hand_over": "finding",
    "decline": "finding",
    "close": "finding",
    "cancel": "finding",
    "entered_in_error": "finding",
    "recategorise": "finding",
    "correct_patient": "finding",
    "correct_exam": "finding",
    "route": "finding",
    "api:finding-detail": "finding",
    "api:finding-acknowledge": "finding",
    "api:finding-attempts": "finding",
    "api:finding-hand-over": "finding",
    "api:finding-cancel": "finding",
    "api:finding-entered-in-error": "finding",
    "api:finding-recategorise": "finding",
    "api:finding-decline": "finding",
    "api:finding-close": "finding",
    "api:finding-route": "finding",
    "fhir:task": "finding",
    "fhir:flag": "finding",
    "fhir:communication": "attempt",  # one Communication per call attempt
}
# URL patterns with arguments that name no clinical object (tokens, admin internals).
NON_OBJECT_URLS = {
    "password_reset_confirm",
    # Role-gated (403 for everyone but governance leads, who may see every finding); an id that
    # is missing or names no breach is 404 (tests/governance/test_breach_review.py).
    "governance:breach_review",
}


def expected_status(url_name, role):
    """The matrix entry for a URL name and role, or None when the URL is not in the matrix."""
    from fnmatch import fnmatchcase

    for pattern, statuses in URL_ACCESS:
        if fnmatchcase(url_name, pattern):
            return statuses[role]
    return None
