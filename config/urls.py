from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("audit/", include("tracker.audit.urls")),
    path("governance/", include("tracker.governance.urls")),
    path("api/v1/", include("tracker.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("fhir/r4/", include("tracker.fhir.urls")),
    path("hl7/v2/", include("tracker.hl7.urls")),
    path("", include("tracker.urls")),
]
