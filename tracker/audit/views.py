"""The read access log of one finding, for governance leads (404 for everyone else)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from .. import access
from .access import finding_accesses, records_finding_access


@login_required
@records_finding_access("pk", via="finding_access_log")
def finding_access_log(request, pk):
    if not access.can_view_access_log(request.user):
        raise Http404
    finding = get_object_or_404(access.visible_findings(request.user), pk=pk)
    accesses = finding_accesses(user=request.user, finding=finding)[:500]
    return render(
        request, "tracker/audit/finding_access_log.html", {"finding": finding, "accesses": accesses}
    )
