"""The project's URLs plus two test-only views (a finding page using the access-log decorator,
and a view that fails with patient data in the exception)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from tracker.access import visible_findings
from tracker.audit.access import records_finding_access


@login_required
@records_finding_access("pk", via="finding_detail")
def finding_detail(request, pk):
    finding = get_object_or_404(visible_findings(request.user), pk=pk)
    return HttpResponse(f"finding {finding.pk}")


def boom(request):
    raise RuntimeError("Patient ASHWORTH, Margaret NHS 999 000 0018 failed to load")


def not_found(request):
    raise Http404("No finding for ASHWORTH")


urlpatterns = [
    path("test/findings/<int:pk>/", finding_detail, name="test_finding_detail"),
    path("test/boom/", boom),
    path("test/not-found/", not_found),
    *project_urlpatterns,
]
