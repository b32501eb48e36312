from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .views import FindingViewSet, not_found

app_name = "api"

router = SimpleRouter(trailing_slash=True)
router.register("findings", FindingViewSet, basename="finding")

urlpatterns = [*router.urls, re_path(r"^.*$", not_found)]
