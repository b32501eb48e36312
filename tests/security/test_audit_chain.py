"""The hash chain over every history row and read access, and `verify_audit`."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tracker.audit import chain, seal, triggers
from tracker.audit.access import access_record
from tracker.audit.tasks import seal_audit_chain
from tracker.audit.verify import verify as verify_report
from tracker.models import AuditEntry, Channel, Finding, FindingAccess, Outcome
from tracker.services import findings as services

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(clock, flag, radiologist, referrer, governance):
    """A finding flagged, communicated and viewed: history rows of several tables and a read."""
    finding = flag()
    services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=referrer,
    )
    access_record(user=governance, finding=finding, via="test")
    return finding


def tamper(sql, params=()):
    """What someone with database access would do, triggers switched off as a superuser could."""
    triggers.maintenance(True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        triggers.maintenance(False)


def verify():
    """Run verify_audit; return (ok, message)."""
    try:
        call_command("verify_audit")
    except CommandError as exc:
        return False, str(exc)
    return True, ""


def table(model):
    return connection.ops.quote_name(model._meta.db_table)


def test_every_history_row_and_read_becomes_the_next_link(history):
    streams = list(AuditEntry.objects.values_list("stream", flat=True))
    assert "tracker.historicalfinding" in streams
    assert "tracker.historicalcommunicationattempt" in streams
    assert streams[-1] == "tracker.findingaccess"
    history_rows = sum(m.objects.count() for m in chain.audited_models())
    assert AuditEntry.objects.count() == history_rows
    seqs = list(AuditEntry.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    links = list(AuditEntry.objects.all())
    assert all(b.prev_hash == a.entry_hash for a, b in zip(links, links[1:], strict=False))


def test_the_chain_covers_history_models_added_later_without_listing_them(db):
    historical = {chain.stream_of(m) for m in chain.audited_models()}
    # Every model registered with simple-history, in any app, is covered.
    from simple_history.models import registered_models
    from simple_history.utils import get_history_model_for_model

    for model in registered_models.values():
        assert chain.stream_of(get_history_model_for_model(model)) in historical


def test_verify_audit_passes_on_a_clean_history(history, capsys):
    call_command("verify_audit")
    assert "Audit trail intact" in capsys.readouterr().out


def test_verify_audit_names_an_edited_history_row(history):
    row = history.history.earliest("history_id")
    tamper(
        f"UPDATE {table(type(row))} SET description = %s WHERE history_id = %s",  # noqa: S608
        ["Small pneumothorax.", row.history_id],
    )
    ok, message = verify()
    assert not ok
    assert f"tracker.historicalfinding id={row.history_id}): row altered" in message


def test_verify_audit_names_a_deleted_history_row(history):
    row = history.history.latest("history_id")
    tamper(
        f"DELETE FROM {table(type(row))} WHERE history_id = %s",  # noqa: S608
        [row.history_id],
    )
    ok, message = verify()
    assert not ok
    assert f"tracker.historicalfinding id={row.history_id}): row deleted" in message


def test_verify_audit_names_a_deleted_link(history):
    link = AuditEntry.objects.get(seq=3)
    tamper(f"DELETE FROM {table(AuditEntry)} WHERE seq = 3")  # noqa: S608
    ok, message = verify()
    assert not ok
    assert "First broken: link #4" in message and "expected link #3 here" in message
    problems = verify_report().problems
    assert f"{link.stream} id={link.record_id}: row is not in the chain" in " ".join(problems)


def test_verify_audit_names_a_row_inserted_out_of_order(history):
    # A back-dated history row written behind the application's back (no link).
    forged = history.history.earliest("history_id")
    forged.history_id = None
    forged.description = "Nothing acute."
    forged.save()
    ok, message = verify()
    assert not ok
    assert f"tracker.historicalfinding id={forged.history_id}: row is not in the chain" in message


def test_verify_audit_names_links_swapped_out_of_order(history):
    tamper(f"UPDATE {table(AuditEntry)} SET seq = -seq WHERE seq IN (2, 3)")  # noqa: S608
    tamper(f"UPDATE {table(AuditEntry)} SET seq = 5 + seq WHERE seq IN (-2, -3)")  # noqa: S608
    ok, message = verify()
    assert not ok
    assert "First broken: link #2" in message


def test_verify_audit_names_an_altered_read_access(history, referrer):
    entry = FindingAccess.objects.get()
    tamper(
        f"UPDATE {table(FindingAccess)} SET user_id = %s WHERE id = %s",  # noqa: S608
        [referrer.pk, entry.pk],
    )
    ok, message = verify()
    assert not ok
    assert f"tracker.findingaccess id={entry.pk}): row altered" in message


def test_a_chain_cut_from_the_end_passes_the_links_but_fails_the_signed_seal(history, seal_file):
    call_command("seal_audit")
    last = AuditEntry.objects.order_by("-seq").first()
    tamper(f"DELETE FROM {table(AuditEntry)} WHERE seq = %s", [last.seq])  # noqa: S608
    tamper(
        f"DELETE FROM {table(FindingAccess)} WHERE id = %s",  # noqa: S608
        [int(last.record_id)],
    )
    ok, message = verify()
    assert not ok
    assert f"chain ends at link #{last.seq - 1} (links were cut from the end)" in message


def test_a_recomputed_chain_does_not_match_its_seal(history, seal_file):
    call_command("seal_audit")
    # Edit a row and recompute every later link, as an attacker who knows the algorithm would.
    row = history.history.earliest("history_id")
    tamper(
        f"UPDATE {table(type(row))} SET description = 'Nothing acute.' "  # noqa: S608
        "WHERE history_id = %s",
        [row.history_id],
    )
    prev = chain.GENESIS_HASH
    for link in AuditEntry.objects.order_by("seq"):
        model = chain.audited_model(link.stream)
        content = chain.content_hash(model.objects.get(pk=link.record_id))
        new = chain.entry_hash(link.seq, link.stream, link.record_id, content, prev)
        tamper(
            f"UPDATE {table(AuditEntry)} SET content_hash = %s, prev_hash = %s, "  # noqa: S608
            "entry_hash = %s WHERE seq = %s",
            [content, prev, new, link.seq],
        )
        prev = new
    ok, message = verify()
    assert not ok
    assert "chain differs from what was sealed (rewritten)" in message


def test_a_forged_seal_is_refused(history, seal_file, settings):
    settings.AUDIT_HMAC_KEY = "not-the-real-key"
    call_command("seal_audit")
    settings.AUDIT_HMAC_KEY = "test-audit-key"
    ok, message = verify()
    assert not ok
    assert "signature invalid" in message


def test_verify_audit_requires_a_seal_when_asked(history, seal_file):
    with pytest.raises(CommandError, match="no signed seal found"):
        call_command("verify_audit", "--require-seal")
    call_command("seal_audit")
    call_command("verify_audit", "--require-seal")


def test_the_beat_task_appends_a_signed_seal_of_the_head_outside_the_database(history, seal_file):
    seq = seal_audit_chain.apply().get()
    flag_again = Finding.objects.count()
    assert flag_again == 1
    lines = [json.loads(line) for line in seal_file.read_text().splitlines()]
    assert lines[-1]["seq"] == seq == AuditEntry.objects.count()
    assert lines[-1]["entry_hash"] == AuditEntry.objects.get(seq=seq).entry_hash
    assert seal.seal_is_authentic(seal.read_seals()[-1])
    assert "test-audit-key" not in seal_file.read_text()


def test_sealing_without_a_key_fails_clearly(history, seal_file, settings):
    settings.AUDIT_HMAC_KEY = ""
    with pytest.raises(CommandError, match="AUDIT_HMAC_KEY is not set"):
        call_command("seal_audit")


def test_a_rolled_back_change_leaves_neither_row_nor_link(history, radiologist):
    before = AuditEntry.objects.count()
    with pytest.raises(Exception, match="refused|status"):
        services.finding_close(actor=radiologist, finding=history)
    assert AuditEntry.objects.count() == before
    call_command("verify_audit")


def test_a_volume_generator_chains_its_bulk_rows_when_it_adopts_them(history):
    from tracker.audit.bulk import allow_bulk
    from tracker.models import Patient

    with allow_bulk("volume generator"):
        patients = Patient.objects.bulk_create(
            [Patient(identifier=f"V{i}", family_name="Vol") for i in range(3)]
        )
        # What simple-history's bulk_create_with_history does: history rows, no signal.
        Patient.history.bulk_create(
            [
                Patient.history.model(
                    id=Patient.objects.get(identifier=p.identifier).pk,
                    identifier=p.identifier,
                    family_name=p.family_name,
                    history_date=history.flagged_at,
                    history_type="+",
                )
                for p in patients
            ]
        )
    ok, message = verify()
    assert not ok and "row is not in the chain" in message
    assert chain.adopt_unchained() == 3
    assert verify() == (True, "")


def test_a_field_added_to_a_model_later_leaves_earlier_links_verifiable(clock, flag, monkeypatch):
    real = chain.columns_of

    def before_the_new_field(model):
        # As if HistoricalFinding had no `breach_reason_text` column when these rows were chained.
        return ",".join(c for c in real(model).split(",") if c != "breach_reason_text")

    monkeypatch.setattr(chain, "columns_of", before_the_new_field)
    flag()
    monkeypatch.setattr(chain, "columns_of", real)
    link = AuditEntry.objects.get(stream="tracker.historicalfinding")
    assert "breach_reason_text" not in link.fields.split(",")
    assert verify() == (True, "")


def test_a_column_dropped_from_an_audited_table_shows_as_altered(history):
    link = AuditEntry.objects.filter(stream="tracker.historicalfinding").first()
    tamper(
        f"UPDATE {table(AuditEntry)} SET fields = fields || ',gone_column' "  # noqa: S608
        "WHERE seq = %s",
        [link.seq],
    )
    ok, message = verify()
    assert not ok
    assert f"link #{link.seq}" in message
    assert "row altered (column gone_column no longer exists)" in message


def test_a_head_record_edited_by_hand_is_named(history):
    from tracker.models import AuditChainHead

    head = AuditChainHead.objects.get()
    assert (head.seq, head.entry_hash) == chain.head()
    tamper(
        f"UPDATE {table(AuditChainHead)} SET entry_hash = %s",  # noqa: S608
        [chain.GENESIS_HASH],
    )
    ok, message = verify()
    assert not ok
    assert f"chain head record (link #{head.seq}) does not match the last link" in message


def test_a_missing_head_record_is_derived_again_from_the_links(history, radiologist, referrer):
    from tracker.models import AuditChainHead

    last_seq, last_hash = chain.head()
    tamper(f"DELETE FROM {table(AuditChainHead)}")  # noqa: S608
    services.attempt_log(
        actor=radiologist,
        finding=history,
        channel=Channel.PHONE,
        outcome=Outcome.NO_ANSWER,
        contacted_user=referrer,
    )
    first_new = AuditEntry.objects.get(seq=last_seq + 1)
    assert first_new.prev_hash == last_hash
    assert AuditChainHead.objects.get().seq == chain.head()[0]
    assert verify() == (True, "")


def test_a_value_saved_in_another_form_is_hashed_as_the_database_returns_it(clock, flag):
    # A submission key handed over as an upper-case string is stored (and read back) as a UUID.
    finding = flag(submission_key="6F9619FF-8B86-D011-B42D-00C04FC964FF")
    link = AuditEntry.objects.get(stream="tracker.historicalfinding")
    stored = finding.history.get()
    assert str(stored.submission_key) == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    assert link.content_hash == chain.content_hash(stored, link.fields)
    assert verify() == (True, "")


def test_losing_the_race_to_create_the_head_record_leaves_the_transaction_usable(history):
    from django.db import transaction

    from tracker.models import AuditChainHead

    with transaction.atomic():
        chain._derive_head()  # another writer's head row is already there
        assert AuditChainHead.objects.get().seq == chain.head()[0]
    assert verify() == (True, "")
