from rest_framework.routers import SimpleRouter

from .views import FindingViewSet

app_name = "api"

router = SimpleRouter(trailing_slash=True)
router.register("findings", FindingViewSet, basename="finding")

urlpatterns = router.urls
