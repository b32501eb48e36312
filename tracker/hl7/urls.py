from django.urls import path

from .views import HL7MessageView

app_name = "hl7"

urlpatterns = [path("messages", HL7MessageView.as_view(), name="messages")]
