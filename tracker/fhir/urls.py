from django.urls import path

from . import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.CapabilityStatementView.as_view(), name="metadata"),
    path("Communication", views.CommunicationView.as_view(), name="communication-search"),
    path("Communication/<str:pk>", views.CommunicationView.as_view(), name="communication"),
    path("Task", views.TaskView.as_view(), name="task-search"),
    path("Task/<str:pk>", views.TaskView.as_view(), name="task"),
    path("Flag", views.FlagView.as_view(), name="flag-search"),
    path("Flag/<str:pk>", views.FlagView.as_view(), name="flag"),
]
