"""Authentication hardening and the security log (no patient data in it)."""


def install():
    """Called once from TrackerConfig.ready(): connect the security-log signal handlers."""
    from . import events

    events.connect()
