"""Database triggers that make the audit tables append-only.

Every historical table (of any app, including ones added later), the chain table and the read
access log refuse UPDATE and DELETE (row triggers) and, on PostgreSQL, TRUNCATE (statement
trigger). They are installed by migration 0004 and again after every `migrate` (post_migrate),
so a new historical model is covered as soon as its table exists; `verify_audit` names a table
that lacks them.

The one way past them is maintenance mode (`maintenance(True)`): on PostgreSQL the session
setting `tracker.audit_maintenance = 'on'`; on SQLite a per-connection SQL function. The test
harness uses it only while pytest-django empties the database between transactional tests
(tests/conftest.py); a data migration that must backfill history would have to use it openly.
Production additionally runs the application as a role without UPDATE, DELETE or TRUNCATE
grants on these tables (docs/security.md); the trigger also stops the table owner.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created

from . import chain

FUNCTION = "tracker_audit_append_only"
ROW_TRIGGER = "tracker_audit_no_update_delete"
TRUNCATE_TRIGGER = "tracker_audit_no_truncate"
BYPASS_SETTING = "tracker.audit_maintenance"
SQLITE_FLAG_FUNCTION = "tracker_audit_maintenance"

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
BEGIN
    IF current_setting('{BYPASS_SETTING}', true) = 'on' THEN
        IF TG_OP = 'UPDATE' THEN RETURN NEW; END IF;
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit table %: % refused (audit rows are append-only)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""


def audited_tables():
    """Every chained table, and the chain itself."""
    from ..models.audit import AuditEntry

    models = [*chain.audited_models(), AuditEntry]
    return sorted(model._meta.db_table for model in models)


def _sqlite_trigger_names(table):
    return {op: f"{ROW_TRIGGER}_{op.lower()}_{table}" for op in ("UPDATE", "DELETE")}


def _install_postgresql(cursor, connection, table):
    quoted = connection.ops.quote_name(table)
    cursor.execute(
        f"CREATE OR REPLACE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {quoted} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )
    cursor.execute(
        f"CREATE OR REPLACE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {quoted} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def _install_sqlite(cursor, connection, table):
    quoted = connection.ops.quote_name(table)
    for op, name in _sqlite_trigger_names(table).items():
        message = f"audit table {table}: {op} refused (audit rows are append-only)"
        cursor.execute(
            f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {quoted} "
            f"WHEN {SQLITE_FLAG_FUNCTION}() = 0 BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def install(using=DEFAULT_DB_ALIAS):
    """Create the triggers on every audited table that exists (idempotent)."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return []
    installed = []
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        if connection.vendor == "postgresql":
            cursor.execute(FUNCTION_SQL)
        for table in audited_tables():
            if table in existing:
                if connection.vendor == "postgresql":
                    _install_postgresql(cursor, connection, table)
                else:
                    _install_sqlite(cursor, connection, table)
                installed.append(table)
    return installed


def missing(using=DEFAULT_DB_ALIAS):
    """Audited tables without their triggers."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname IN (%s, %s)",
                [ROW_TRIGGER, TRUNCATE_TRIGGER],
            )
            found = {}
            for table, trigger in cursor.fetchall():
                found.setdefault(table, set()).add(trigger)
            wanted = {ROW_TRIGGER, TRUNCATE_TRIGGER}
            return [t for t in audited_tables() if found.get(t) != wanted]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            found = {row[0] for row in cursor.fetchall()}
            return [
                t for t in audited_tables() if not set(_sqlite_trigger_names(t).values()) <= found
            ]
    return []


def maintenance(on, using=DEFAULT_DB_ALIAS):
    """Let this connection UPDATE/DELETE/TRUNCATE audit tables (on=True) or not (on=False)."""
    connection = connections[using]
    connection.tracker_audit_maintenance = bool(on)
    if connection.vendor == "postgresql":
        if not on and connection.connection is None:
            return  # a new session starts with the setting off
        with connection.cursor() as cursor:
            # set_config(), not SET: SET takes no bound parameter (server-side binding).
            cursor.execute(
                "SELECT set_config(%s, %s, false)", [BYPASS_SETTING, "on" if on else "off"]
            )


def _register_sqlite_function(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_FLAG_FUNCTION,
            0,
            lambda: int(getattr(connection, "tracker_audit_maintenance", False)),
        )


connection_created.connect(_register_sqlite_function, dispatch_uid="audit_sqlite_flag")


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    install(using)
