"""The role-aware home page: each role lands on the list it works from."""

from django.shortcuts import redirect, render

from ..models import Role
from .base import signed_in

HOME_BY_ROLE = {
    Role.RADIOLOGIST: "worklist",
    Role.REFERRER: "inbox",
    Role.GOVERNANCE: "governance:dashboard",
}


@signed_in
def home(request):
    target = HOME_BY_ROLE.get(request.user.role) if request.user.is_active else None
    if target:
        return redirect(target)
    # Administrators configure the site in the admin; anyone else has no clinical role yet.
    return render(request, "tracker/home.html")
