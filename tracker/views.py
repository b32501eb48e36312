from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from .access import visible_findings
from .escalation.selectors import latest_escalation
from .models import Finding


@login_required
def home(request):
    findings = visible_findings(request.user, Finding.objects.open().for_worklist())[:200]
    now = timezone.now()
    escalations = latest_escalation([f.pk for f in findings])
    rows = [(f, f.deadline_state(now), escalations.get(f.pk)) for f in findings]
    return render(request, "tracker/home.html", {"rows": rows, "now": now})
