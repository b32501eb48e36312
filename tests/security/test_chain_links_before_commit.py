"""chain.links_before_commit(): the audit links of a transaction's rows appended at its end (the
chain's head row then stays locked only until the commit), with nothing lost or invented."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from tracker.audit import chain
from tracker.models import AuditEntry, Patient

pytestmark = pytest.mark.django_db


def links_of(model):
    stream = chain.stream_of(model.history.model)
    return list(AuditEntry.objects.filter(stream=stream).values_list("record_id", flat=True))


def test_the_rows_of_the_block_are_linked_when_it_ends_in_the_order_written(db):
    with transaction.atomic(), chain.links_before_commit():
        first = Patient.objects.create(identifier="P1", family_name="One")
        second = Patient.objects.create(identifier="P2", family_name="Two")
        assert links_of(Patient) == []  # not yet: the head is not taken while the work runs
    rows = [first.history.get().history_id, second.history.get().history_id]
    assert links_of(Patient) == [str(pk) for pk in rows]
    call_command("verify_audit")


def test_a_row_rolled_back_with_its_savepoint_is_not_linked(db):
    with transaction.atomic(), chain.links_before_commit():
        kept = Patient.objects.create(identifier="P1", family_name="Kept")
        with pytest.raises(IntegrityError), transaction.atomic():
            Patient.objects.create(identifier="P2", family_name="Rolled back")
            Patient.objects.create(identifier="P1", family_name="Duplicate")  # refused
    assert links_of(Patient) == [str(kept.history.get().history_id)]
    assert Patient.history.count() == 1
    call_command("verify_audit")  # no link to a row that is not there, no row without a link


def test_a_block_that_raises_links_nothing(db):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic(), chain.links_before_commit():
        Patient.objects.create(identifier="P1", family_name="Gone")
        raise RuntimeError("the transaction rolls back")
    assert AuditEntry.objects.count() == before
    assert not Patient.objects.exists()


def test_it_needs_a_transaction(transactional_db):
    with pytest.raises(RuntimeError, match="needs a transaction"), chain.links_before_commit():
        pass


def test_a_block_longer_than_one_insert_statement_links_every_row_in_order(db, monkeypatch):
    # On PostgreSQL a block is inserted in chunks (a statement takes at most 65,535 parameters);
    # a small chunk size makes this block span several, with a single link before and after.
    monkeypatch.setattr(chain, "_LINKS_PER_INSERT", 3)
    Patient.objects.create(identifier="P0", family_name="Before")
    with transaction.atomic(), chain.links_before_commit():
        patients = [
            Patient.objects.create(identifier=f"P{i}", family_name="Block") for i in range(1, 8)
        ]
    Patient.objects.create(identifier="P8", family_name="After")
    history = list(Patient.history.order_by("history_id").values_list("history_id", flat=True))
    assert links_of(Patient) == [str(pk) for pk in history]
    assert len(patients) == 7 and len(history) == 9
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no repeat
    call_command("verify_audit")
