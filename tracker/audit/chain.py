"""The hash chain: every history row (any model with HistoricalRecords, including those added
later) and every read-access record becomes the next link of ONE global chain, in the same
transaction that writes the row.

Why global and how it stays linear under concurrency: docs/architecture.md ("Audit chain").
"""

import hashlib
import json
from datetime import UTC, date, datetime

from django.apps import apps
from django.db import connection, connections, transaction
from simple_history.models import HistoricalChanges

from .. import clock

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key: "AUDITCHN" as a 64-bit integer. Held until the writing
# transaction commits, so two processes never read the same head.
CHAIN_LOCK_KEY = int.from_bytes(b"AUDITCHN", "big") & 0x7FFFFFFFFFFFFFFF
ACCESS_STREAM = "tracker.findingaccess"


def stream_of(model):
    return model._meta.label_lower


def audited_models():
    """Every table the chain covers: all historical models of every app, plus the access log."""
    models = [m for m in apps.get_models() if issubclass(m, HistoricalChanges)]
    models.append(apps.get_model("tracker", "FindingAccess"))
    return sorted(models, key=stream_of)


def audited_model(stream):
    model = apps.get_model(stream)
    if not (issubclass(model, HistoricalChanges) or stream == ACCESS_STREAM):
        raise LookupError(f"{stream} is not an audited table")
    return model


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, dict | list):
        return value
    return str(value)  # Decimal, UUID, timedelta, ...


def columns_of(model):
    """The stored columns of a model, as the comma-separated list a link records."""
    return ",".join(sorted(f.attname for f in model._meta.concrete_fields))


class MissingColumn(LookupError):
    pass


def content_hash(row, columns=None):
    """sha256 over the row's stored columns (all of them, or the recorded `columns`)."""
    names = (columns or columns_of(type(row))).split(",")
    present = {f.attname: f for f in row._meta.concrete_fields}
    missing = [name for name in names if name not in present]
    if missing:
        raise MissingColumn(", ".join(missing))
    values = {name: _canonical(present[name].value_from_object(row)) for name in names}
    payload = json.dumps(
        {"table": row._meta.db_table, "fields": values}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def entry_hash(seq, stream, record_id, content, prev):
    payload = f"{seq}|{stream}|{record_id}|{content}|{prev}"
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_chain():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the settings open every transaction IMMEDIATE, so writers are already serialised.


def head():
    """(seq, entry_hash) of the last link; (0, GENESIS_HASH) for an empty chain."""
    from ..models.audit import AuditEntry

    last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    return last or (0, GENESIS_HASH)


def append(row):
    """Chain `row` (already saved). Runs inside the caller's transaction when there is one, so
    the row and its link commit or roll back together."""
    from ..models.audit import AuditEntry

    model = type(row)
    stream = stream_of(model)
    # No savepoint: if the link fails, the row it would cover must not commit either.
    with transaction.atomic(savepoint=False):
        _lock_chain()
        # Hash the row as the database holds it, exactly as verify_audit will read it back.
        stored = model._default_manager.get(pk=row.pk)
        seq, prev = head()
        seq += 1
        columns = columns_of(model)
        content = content_hash(stored, columns)
        record_id = str(row.pk)
        return AuditEntry.objects.create(
            seq=seq,
            stream=stream,
            record_id=record_id,
            content_hash=content,
            fields=columns,
            prev_hash=prev,
            entry_hash=entry_hash(seq, stream, record_id, content, prev),
            recorded_at=clock.now(),
        )


def on_history_row(sender, history_instance, **kwargs):
    append(history_instance)


def on_access_row(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        append(instance)


def _has_rows(model):
    connection = connections[model._default_manager.db]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return False
        cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
        return cursor.fetchone() is not None


def adopt_unchained(batch=1000):
    """Chain every audited row that has no link yet, table by table in primary-key order, in one
    transaction; return how many rows were adopted.

    For rows written outside the normal path: the history written by migrations before the chain
    existed (0002's default policy), and synthetic volume data written in bulk under
    `allow_bulk()` (call it at the end of the generator). Never for routine use: verify_audit
    reports an unchained row as tampering, and adopting it hides that.
    """
    from ..models.audit import AuditEntry

    adopted = 0
    with transaction.atomic():
        _lock_chain()
        seq, prev = head()
        pending = []
        for model in audited_models():
            if not _has_rows(model):
                # Also skips tables a later migration creates or alters: inside migration 0004
                # the current model code may name tables and columns that do not exist yet.
                continue
            stream = stream_of(model)
            columns = columns_of(model)
            chained = set(
                AuditEntry.objects.filter(stream=stream).values_list("record_id", flat=True)
            )
            for row in model._default_manager.order_by("pk").iterator(chunk_size=batch):
                record_id = str(row.pk)
                if record_id in chained:
                    continue
                seq += 1
                content = content_hash(row, columns)
                link = entry_hash(seq, stream, record_id, content, prev)
                pending.append(
                    AuditEntry(
                        seq=seq,
                        stream=stream,
                        record_id=record_id,
                        content_hash=content,
                        fields=columns,
                        prev_hash=prev,
                        entry_hash=link,
                        recorded_at=clock.now(),
                    )
                )
                prev = link
                adopted += 1
                if len(pending) >= batch:
                    AuditEntry.objects.bulk_create(pending)  # bulk-ok: the chain has no history
                    pending = []
        AuditEntry.objects.bulk_create(pending)  # bulk-ok: the chain has no history
    return adopted
