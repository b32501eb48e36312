"""Audit tables refuse UPDATE, DELETE and TRUNCATE at the database, whoever asks; two writers
at once never fork the chain."""

import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from tests.factories import ExamFactory
from tracker.audit import chain, triggers
from tracker.models import AuditEntry, FindingAccess
from tracker.services import findings as services

pytestmark = pytest.mark.django_db


def raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def quoted(model):
    return connection.ops.quote_name(model._meta.db_table)


def test_every_audit_table_has_its_triggers(db):
    assert triggers.missing() == []
    tables = triggers.audited_tables()
    assert "tracker_historicalfinding" in tables
    assert {"tracker_auditentry", "tracker_findingaccess"} <= set(tables)


def test_a_raw_sql_update_of_a_history_row_is_refused(clock, flag):
    finding = flag()
    row = finding.history.get()
    with pytest.raises(DatabaseError, match="UPDATE refused"):
        raw(
            f"UPDATE {quoted(type(row))} SET description = 'x' WHERE history_id = %s",  # noqa: S608
            [row.history_id],
        )
    row.refresh_from_db()
    assert row.description == "Large right pneumothorax."


def test_a_raw_sql_delete_of_a_history_row_is_refused(clock, flag):
    finding = flag()
    row = finding.history.get()
    with pytest.raises(DatabaseError, match="DELETE refused"):
        raw(f"DELETE FROM {quoted(type(row))} WHERE history_id = %s", [row.history_id])  # noqa: S608
    assert finding.history.count() == 1


def test_the_chain_and_the_access_log_refuse_updates_and_deletes(clock, flag, governance):
    from tracker.audit.access import access_record

    access_record(user=governance, finding=flag(), via="test")
    for model in (AuditEntry, FindingAccess):
        with pytest.raises(DatabaseError, match="refused"):
            raw(f"UPDATE {quoted(model)} SET id = id")  # noqa: S608
        with pytest.raises(DatabaseError, match="refused"):
            raw(f"DELETE FROM {quoted(model)}")  # noqa: S608
    assert FindingAccess.objects.count() == 1


def test_emptying_an_audit_table_is_refused(clock, flag):
    flag()
    # PostgreSQL: TRUNCATE (statement trigger). SQLite has no TRUNCATE; its equivalent is DELETE.
    statement = "DELETE FROM {}"
    if connection.vendor == "postgresql":
        # (Deferred foreign-key checks from this test's inserts must run first, or PostgreSQL
        # refuses the TRUNCATE for that reason instead of ours.)
        raw("SET CONSTRAINTS ALL IMMEDIATE")
        statement = "TRUNCATE {} CASCADE"
    with pytest.raises(DatabaseError, match="refused"):
        raw(statement.format(quoted(AuditEntry)))
    with pytest.raises(DatabaseError, match="refused"):
        raw(statement.format("tracker_historicalfinding"))
    assert AuditEntry.objects.exists()


def test_the_orm_cannot_delete_history_either(clock, flag):
    finding = flag()
    with pytest.raises(DatabaseError, match="refused"), transaction.atomic():
        finding.history.all().delete()
    assert finding.history.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_processes_writing_history_at_once_do_not_fork_the_chain(radiologist, referrer):
    exams = [ExamFactory(ordering_clinician=referrer) for _ in range(12)]
    errors = []
    barrier = threading.Barrier(4)

    def writer(chunk):
        try:
            barrier.wait()
            for exam in chunk:
                services.finding_flag(
                    actor=radiologist,
                    accession_number=exam.accession_number,
                    category="critical",
                    description="Pneumothorax.",
                )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(exams[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    links = list(AuditEntry.objects.order_by("seq"))
    assert [link.seq for link in links] == list(range(1, len(links) + 1))
    assert all(b.prev_hash == a.entry_hash for a, b in zip(links, links[1:], strict=False))
    assert len(links) == sum(m.objects.count() for m in chain.audited_models())
    call_command("verify_audit")
