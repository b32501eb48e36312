"""Tamper-evident audit trail: hash chain, signed seals, append-only triggers, access log."""


def install(app_config):
    """Called once from TrackerConfig.ready()."""
    from django.db.models.signals import post_migrate, post_save
    from simple_history.signals import post_create_historical_record

    from ..models.audit import FindingAccess
    from . import bulk, chain, tasks, triggers  # noqa: F401 - tasks registers the beat task

    # sender=None: every historical model of every app, including ones added later.
    post_create_historical_record.connect(chain.on_history_row, dispatch_uid="audit_chain_history")
    post_save.connect(chain.on_access_row, sender=FindingAccess, dispatch_uid="audit_chain_access")
    post_migrate.connect(triggers.on_post_migrate, sender=app_config, dispatch_uid="audit_triggers")
    bulk.install()
