"""The hash chain: every history row (any model with HistoricalRecords, including those added
later) and every read-access record becomes the next link of ONE global chain, in the same
transaction that writes the row.

Why global and how it stays linear under concurrency: docs/architecture.md ("Audit chain").
"""

import contextlib
import hashlib
import json
import threading
from datetime import UTC, date, datetime

from django.apps import apps
from django.db import IntegrityError, connection, connections, transaction
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


def _column_values(row, names, as_stored):
    present = {f.attname: f for f in row._meta.concrete_fields}
    missing = [name for name in names if name not in present]
    if missing:
        raise MissingColumn(", ".join(missing))
    values = {}
    for name in names:
        field = present[name]
        value = field.value_from_object(row)
        if as_stored and value is not None:
            # The value as the database hands it back (a UUID given as a string, a flag given as
            # 1, ...), so the hash equals the one verify_audit computes from the stored row.
            value = field.to_python(value)
        values[name] = _canonical(value)
    return values


def content_hash(row, columns=None, as_stored=False):
    """sha256 over the row's stored columns (all of them, or the recorded `columns`)."""
    names = (columns or columns_of(type(row))).split(",")
    payload = json.dumps(
        {"table": row._meta.db_table, "fields": _column_values(row, names, as_stored)},
        sort_keys=True,
        separators=(",", ":"),
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


def _derive_head():
    """Create the head row from the links (fresh database, flushed test database, or a head row
    removed by hand) unless a concurrent writer just did."""
    from ..models.audit import AuditChainHead, AuditEntry

    last = AuditEntry.objects.order_by("-seq").values_list("seq", "prev_hash", "entry_hash").first()
    seq, prev, current = last or (0, GENESIS_HASH, GENESIS_HASH)
    # Losing the race to another writer is fine: its head row is as good. The savepoint (inside
    # the suppress) rolls back just the failed insert.
    with contextlib.suppress(IntegrityError), transaction.atomic():
        AuditChainHead.objects.create(id=1, seq=seq, prev_hash=prev, entry_hash=current)


# One round trip on PostgreSQL. UPDATE takes the head row's lock; a concurrent writer waits for
# it and then (READ COMMITTED) re-evaluates the SET list on the row as committed, so every link
# follows the one before it. The right-hand sides read the old row: seq + 1 is the new seq and
# entry_hash the previous link's hash. The text hashed is exactly entry_hash()'s.
_APPEND_POSTGRESQL = """
WITH head AS (
    UPDATE {head} SET
        seq = seq + 1,
        prev_hash = entry_hash,
        entry_hash = encode(sha256(convert_to(
            (seq + 1)::text || '|' || %(stream)s::text || '|' || %(record_id)s::text
            || '|' || %(content)s::text || '|' || entry_hash, 'UTF8')), 'hex')
    WHERE id = 1
    RETURNING seq, prev_hash, entry_hash
)
INSERT INTO {entry} (seq, stream, record_id, content_hash, fields, prev_hash, entry_hash,
                     recorded_at)
SELECT seq, %(stream)s, %(record_id)s, %(content)s, %(fields)s, prev_hash, entry_hash,
       %(recorded_at)s
FROM head
RETURNING seq
"""


def _append_postgresql(params):
    from ..models.audit import AuditChainHead, AuditEntry

    sql = _APPEND_POSTGRESQL.format(
        head=connection.ops.quote_name(AuditChainHead._meta.db_table),
        entry=connection.ops.quote_name(AuditEntry._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.fetchone() is None:  # no head row yet
            _derive_head()
            cursor.execute(sql, params)
            cursor.fetchone()


def _append_in_python(many):
    """SQLite: read the head, insert the links, move the head. Every transaction is IMMEDIATE
    there, so this read-then-write is already serialised."""
    from ..models.audit import AuditChainHead, AuditEntry

    current = AuditChainHead.objects.filter(id=1).first()
    if current is None:
        _derive_head()
        current = AuditChainHead.objects.get(id=1)
    seq, prev = current.seq, current.entry_hash
    links = []
    for params in many:
        seq += 1
        link = entry_hash(seq, params["stream"], params["record_id"], params["content"], prev)
        links.append(
            AuditEntry(
                seq=seq,
                stream=params["stream"],
                record_id=params["record_id"],
                content_hash=params["content"],
                fields=params["fields"],
                prev_hash=prev,
                entry_hash=link,
                recorded_at=params["recorded_at"],
            )
        )
        prev = link
    AuditEntry.objects.bulk_create(links)  # bulk-ok: the chain has no history
    current.seq, current.prev_hash, current.entry_hash = seq, links[-1].prev_hash, prev
    current.save()


_LINK_COLUMNS = "seq, stream, record_id, content_hash, fields, prev_hash, entry_hash, recorded_at"
# PostgreSQL takes at most 65,535 parameters per statement: 8 per link.
_LINKS_PER_INSERT = 1000


def _append_many_postgresql(many):
    """The same three steps as _append_in_python in plain SQL (one link: the one-statement
    append). Raw SQL because this runs for every audited write: building the same statements
    through the ORM cost more CPU than everything else in an HL7 message's transaction."""
    from ..models.audit import AuditChainHead, AuditEntry

    if len(many) == 1:
        _append_postgresql(many[0])
        return
    head_table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    entry_table = connection.ops.quote_name(AuditEntry._meta.db_table)
    take_head = f"SELECT seq, entry_hash FROM {head_table} WHERE id = 1 FOR UPDATE"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(take_head)
        current = cursor.fetchone()
        if current is None:
            _derive_head()
            cursor.execute(take_head)
            current = cursor.fetchone()
        seq, link = current
        rows = []
        for params in many:
            seq, prev = seq + 1, link
            link = entry_hash(seq, params["stream"], params["record_id"], params["content"], prev)
            rows.append(
                (seq, params["stream"], params["record_id"], params["content"], params["fields"],
                 prev, link, params["recorded_at"])
            )  # fmt: skip
        for start in range(0, len(rows), _LINKS_PER_INSERT):
            chunk = rows[start : start + _LINKS_PER_INSERT]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {entry_table} ({_LINK_COLUMNS}) VALUES {values}",  # noqa: S608
                [value for row in chunk for value in row],
            )
        cursor.execute(
            f"UPDATE {head_table} SET seq = %s, prev_hash = %s, entry_hash = %s WHERE id = 1",  # noqa: S608
            [seq, prev, link],  # the last link's
        )


def _link_params(row, recorded_at):
    model = type(row)
    columns = columns_of(model)
    return {
        "stream": stream_of(model),
        "record_id": str(row.pk),
        # Hashed from the saved instance, each value as the database returns it (as_stored), so
        # verify_audit recomputes the same hash from the row it reads back.
        "content": content_hash(row, columns, as_stored=True),
        "fields": columns,
        "recorded_at": recorded_at,
    }


def append(row):
    """Chain `row` (already saved). Runs inside the caller's transaction when there is one, so
    the row and its link commit or roll back together."""
    append_many([row])


def append_many(rows):
    """Chain several saved rows, in order, as one block of consecutive links (rows written in
    bulk, whose history rows send no signal). Call it last in the transaction: the head's lock
    is then held only until the commit."""
    if not rows:
        return
    recorded_at = clock.now()
    many = [_link_params(row, recorded_at) for row in rows]
    # No savepoint: if a link fails, the rows it would cover must not commit either.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            _append_many_postgresql(many)
        else:
            _append_in_python(many)


_deferred = threading.local()


@contextlib.contextmanager
def links_before_commit():
    """Inside the caller's transaction: link the audited rows written in this block when the
    block ends, as one block of links, instead of each as it is written.

    Every link takes the chain's one head row, and a transaction holds it until it commits; so
    the first link of a transaction makes every other writer wait for the rest of it. Put this
    block around a transaction's work (as the HL7 ingest does for each message) and the head is
    held only from the end of the work to the commit. If the block raises, nothing is linked
    (the transaction is rolling back). A row written inside a savepoint that was rolled back is
    not linked: when the block opened savepoints, the rows are checked against the database."""
    if getattr(_deferred, "rows", None) is not None:  # nested: the outer block links
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("links_before_commit() needs a transaction around it")
    savepoints_before = connection.savepoint_state
    _deferred.rows = []
    try:
        yield
        rows = _deferred.rows
    finally:
        _deferred.rows = None
    if connection.savepoint_state != savepoints_before:
        rows = _still_stored(rows)
    append_many(rows)


def _still_stored(rows):
    by_model = {}
    for row in rows:
        by_model.setdefault(type(row), set()).add(row.pk)
    stored = {
        (model, pk)
        for model, pks in by_model.items()
        for pk in model._default_manager.filter(pk__in=pks).values_list("pk", flat=True)
    }
    return [row for row in rows if (type(row), row.pk) in stored]


def _link(row):
    pending = getattr(_deferred, "rows", None)
    if pending is None:
        append(row)
    else:
        pending.append(row)


def on_history_row(sender, history_instance, **kwargs):
    _link(history_instance)


def on_access_row(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        _link(instance)


def _table_exists(model):
    connection = connections[model._default_manager.db]
    with connection.cursor() as cursor:
        return model._meta.db_table in connection.introspection.table_names(cursor)


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
    from ..models.audit import AuditChainHead, AuditEntry

    adopted = 0
    with transaction.atomic():
        # Inside migration 0004 the head table does not exist yet; nothing else writes then.
        has_head = _table_exists(AuditChainHead)
        _lock_chain()
        if has_head:
            # Appenders queue on the head row's lock: hold it while links are added here.
            if not AuditChainHead.objects.filter(id=1).exists():
                _derive_head()
            AuditChainHead.objects.select_for_update().get(id=1)
        seq, prev = head()
        before_prev = None
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
                before_prev = prev
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
        if has_head and adopted:
            AuditChainHead.objects.filter(id=1).update(  # bulk-ok: the head has no history
                seq=seq, prev_hash=before_prev, entry_hash=prev
            )
    return adopted
