"""Chain the history written so far, then refuse UPDATE, DELETE (and TRUNCATE) on audit tables.

The same installer runs after every `migrate` (post_migrate), so historical tables created by
later migrations get the triggers too. See tracker/audit/triggers.py.
"""

from django.db import migrations


def install_triggers(apps, schema_editor):
    from tracker.audit import chain, triggers

    # Rows written before the chain existed (0002's policy history) become its first links.
    chain.adopt_unchained()
    triggers.install(schema_editor.connection.alias)


def remove_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from tracker.audit import triggers

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION IF EXISTS {triggers.FUNCTION}() CASCADE")


class Migration(migrations.Migration):
    dependencies = [("tracker", "0003_audit_trail")]

    operations = [migrations.RunPython(install_triggers, remove_triggers, elidable=False)]
