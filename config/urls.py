from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("audit/", include("tracker.audit.urls")),
    path("governance/", include("tracker.governance.urls")),
    path("", include("tracker.urls")),
]
