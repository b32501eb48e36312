from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("worklist/", views.worklist, name="worklist"),
    path("inbox/", views.inbox, name="inbox"),
    path("findings/", views.open_findings, name="open_findings"),
    path("findings/new/", views.flag, name="flag"),
    path("findings/new/exam/", views.exam_lookup, name="exam_lookup"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/call/", views.log_call, name="log_call"),
    path("findings/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("findings/<int:pk>/hand-over/", views.hand_over, name="hand_over"),
    path("findings/<int:pk>/decline/", views.decline, name="decline"),
    path("findings/<int:pk>/close/", views.close, name="close"),
    # Corrections, each with a reason (tracker/views/corrections.py).
    *[
        path(f"findings/<int:pk>/{segment}/", views.correction, {"key": name}, name=name)
        for segment, name in [
            ("route", "route"),
            ("recategorise", "recategorise"),
            ("correct-patient", "correct_patient"),
            ("correct-exam", "correct_exam"),
            ("cancel", "cancel"),
            ("entered-in-error", "entered_in_error"),
        ]
    ],
]
