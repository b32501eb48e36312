from django.apps import AppConfig


class TrackerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracker"
    verbose_name = "Critical result tracker"

    def ready(self):
        from . import audit, security

        audit.install(self)
        security.install()
