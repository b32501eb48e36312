"""django-axes' lock-out check, tolerant of `authenticate()` calls without a request."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out account (django-axes). Every login over HTTP (the login page, the
    admin, API authentication) passes the request and is checked. A call without a request
    (Django's test client `login()`, a shell) is not reachable from the network, and stock
    django-axes would raise on it, so it is passed on to the next backend instead."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
