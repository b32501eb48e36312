from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("report/", views.report, name="report"),
    path("report/findings/", views.report_findings, name="report_findings"),
    path("breaches/", views.breaches, name="breaches"),
    path("breaches/<int:pk>/review/", views.breach_review, name="breach_review"),
]
