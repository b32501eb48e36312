"""The read access log: who viewed which finding or patient, and when (HIPAA audit controls).

Views that show a finding or a patient record the read with one of:
- `access_record(user=..., finding=..., via=...)`: the service, for any code path (API, export);
- `@records_finding_access("pk")`: a view decorator; it records after the view returned 200,
  so a 404 for a finding the user may not see is not logged as a read;
- `AccessLoggedAdminMixin`: the Django admin change view of a finding / patient.
Governance reads the log with `finding_accesses(user=..., finding=...)`.
"""

import functools

from django.core.exceptions import PermissionDenied
from django.db import transaction

from .. import access, clock
from ..models import Finding, Patient
from ..models.audit import FindingAccess


def access_record(*, user, finding=None, patient=None, via):
    """Record that `user` viewed `finding` and/or `patient`. Chained in the same transaction."""
    if not (user and user.is_authenticated):
        return None
    if finding is None and patient is None:
        raise ValueError("A read access names a finding or a patient.")
    with transaction.atomic():
        return FindingAccess.objects.create(
            user=user, finding=finding, patient=patient, accessed_at=clock.now(), via=via[:120]
        )


def finding_accesses(*, user, finding):
    """The read log of one finding, newest first. Governance only (PermissionDenied otherwise)."""
    if not access.can_view_access_log(user):
        raise PermissionDenied("Only governance leads read the access log.")
    return FindingAccess.objects.filter(finding=finding).select_related("user")


def patient_accesses(*, user, patient):
    if not access.can_view_access_log(user):
        raise PermissionDenied("Only governance leads read the access log.")
    return FindingAccess.objects.filter(patient=patient).select_related("user")


def records_finding_access(kwarg="pk", via=None):
    """View decorator: after a 200 response, record that request.user viewed Finding[kwarg]."""

    def decorator(view):
        name = via or view.__name__

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and kwarg in kwargs:
                finding = Finding.objects.filter(pk=kwargs[kwarg]).first()
                if finding is not None:
                    access_record(user=request.user, finding=finding, via=name)
            return response

        return wrapped

    return decorator


class AccessLoggedAdminMixin:
    """Records a read when the admin change (view) page of a Finding or Patient is shown."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and request.method == "GET":
            obj = self.get_object(request, object_id)
            via = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
            if isinstance(obj, Finding):
                access_record(user=request.user, finding=obj, via=via)
            elif isinstance(obj, Patient):
                access_record(user=request.user, patient=obj, via=via)
        return response


def access_log_context(user, finding, limit=50):
    """Template context for the finding page: `can_view_access_log` and, for governance, the
    latest `accesses`. Use with {% include "tracker/audit/_access_log.html" %}."""
    if not access.can_view_access_log(user):
        return {"can_view_access_log": False, "accesses": []}
    return {
        "can_view_access_log": True,
        "accesses": list(finding_accesses(user=user, finding=finding)[:limit]),
    }
