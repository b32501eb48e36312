"""The system user: history rows written by the engine name it, not "nobody"."""

from ..models import Role, User

SYSTEM_USERNAME = "system"


def system_user():
    user, _ = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={
            "first_name": "Escalation",
            "last_name": "engine",
            "role": Role.ADMINISTRATOR,
            "is_active": False,  # never signs in; it only acts in tasks
            "password": "!system-user-unusable-password",  # "!" prefix: unusable
        },
    )
    return user
