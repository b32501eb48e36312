from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("findings/<int:pk>/access-log/", views.finding_access_log, name="finding_access_log"),
]
