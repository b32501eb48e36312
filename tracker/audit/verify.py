"""Check the audit trail end to end; used by `manage.py verify_audit`.

Finds, in this order: a broken link (missing, re-ordered, altered), a chained row that was
altered or deleted, a row in an audited table that is not in the chain (inserted behind the
application's back), and a chain that does not match its signed seals (cut from the end, or
recomputed).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from ..models.audit import AuditChainHead, AuditEntry
from . import chain, seal

BATCH = 2000


@dataclass
class Report:
    links: int = 0
    rows: int = 0
    seals: int = 0
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems


def _check_rows(entries, report):
    by_stream = defaultdict(list)
    for entry in entries:
        by_stream[entry.stream].append(entry)
    for stream, links in by_stream.items():
        try:
            model = chain.audited_model(stream)
        except LookupError:
            for link in links:
                report.problems.append(f"link #{link.seq}: names unknown table {stream}")
            continue
        pk = model._meta.pk
        rows = model._default_manager.in_bulk([pk.to_python(link.record_id) for link in links])
        for link in links:
            row = rows.get(pk.to_python(link.record_id))
            where = f"link #{link.seq} ({stream} id={link.record_id})"
            report.rows += 1
            if row is None:
                report.problems.append(f"{where}: row deleted")
                continue
            try:
                altered = chain.content_hash(row, link.fields) != link.content_hash
            except chain.MissingColumn as exc:
                report.problems.append(f"{where}: row altered (column {exc} no longer exists)")
                continue
            if altered:
                report.problems.append(f"{where}: row altered")


def _check_links(report, sealed_seqs):
    """Walk the chain; return {seq: entry_hash} for the sealed links and the last one."""
    expected_seq, prev = 1, chain.GENESIS_HASH
    hashes = {}
    batch = []
    for link in AuditEntry.objects.order_by("seq").iterator(chunk_size=BATCH):
        where = f"link #{link.seq} ({link.stream} id={link.record_id})"
        if link.seq != expected_seq:
            report.problems.append(
                f"{where}: expected link #{expected_seq} here "
                "(a link was deleted or inserted out of order)"
            )
        if link.prev_hash != prev:
            report.problems.append(f"{where}: does not follow the previous link")
        recomputed = chain.entry_hash(
            link.seq, link.stream, link.record_id, link.content_hash, link.prev_hash
        )
        if recomputed != link.entry_hash:
            report.problems.append(f"{where}: link altered")
        if link.seq in sealed_seqs:
            hashes[link.seq] = link.entry_hash
        expected_seq, prev = link.seq + 1, link.entry_hash
        report.links += 1
        batch.append(link)
        if len(batch) >= BATCH:
            _check_rows(batch, report)
            batch = []
    _check_rows(batch, report)
    hashes["head"] = expected_seq - 1
    hashes["head_hash"] = prev
    return hashes


def _check_head(report, hashes):
    """The head row appenders build on must name the last link; a head edited by hand would make
    the next link follow a forged predecessor. A head ahead of what was read is a link committed
    while we walked the chain."""
    current = AuditChainHead.objects.filter(id=1).first()
    if current is None:
        return  # re-derived from the links by the next append
    last = hashes["head"]
    if current.seq < last or (current.seq == last and current.entry_hash != hashes["head_hash"]):
        report.problems.append(
            f"chain head record (link #{current.seq}) does not match the last link (#{last})"
        )


def _check_unchained(report):
    chained = defaultdict(set)
    for stream, record_id in AuditEntry.objects.values_list("stream", "record_id").iterator(
        chunk_size=BATCH * 5
    ):
        chained[stream].add(record_id)
    for model in chain.audited_models():
        stream = chain.stream_of(model)
        ids = model._default_manager.order_by("pk").values_list("pk", flat=True)
        for pk in ids.iterator(chunk_size=BATCH * 5):
            if str(pk) not in chained[stream]:
                report.problems.append(
                    f"{stream} id={pk}: row is not in the chain "
                    "(inserted outside the application or out of order)"
                )


def _read_seals(report):
    try:
        return seal.read_seals()
    except ImproperlyConfigured as exc:
        report.warnings.append(f"seals not checked: {exc}")
        return []


def _check_seals(seals, hashes, report, require_seal):
    if not seals:
        message = "no signed seal found: links cut from the end of the chain cannot be detected"
        (report.problems if require_seal else report.warnings).append(message)
        return
    head_seq = hashes["head"]
    for s in seals:
        report.seals += 1
        where = f"seal on line {s.line} (link #{s.seq})"
        try:
            authentic = seal.seal_is_authentic(s)
        except ImproperlyConfigured as exc:
            report.problems.append(f"{where}: cannot check the signature: {exc}")
            continue
        if not authentic:
            report.problems.append(f"{where}: signature invalid (seal forged or altered)")
        elif s.seq > head_seq:
            report.problems.append(
                f"{where}: chain ends at link #{head_seq} (links were cut from the end)"
            )
        elif s.seq > 0 and hashes.get(s.seq) != s.entry_hash:
            report.problems.append(f"{where}: chain differs from what was sealed (rewritten)")


def verify(require_seal=False):
    report = Report()
    seals = _read_seals(report)
    hashes = _check_links(report, {s.seq for s in seals})
    _check_unchained(report)
    _check_seals(seals, hashes, report, require_seal)
    _check_head(report, hashes)
    return report
