"""The tamper-evident audit trail: one global hash chain over every history row and every read.

Rows here are append-only. On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE on them
(and on every historical table); see tracker/audit/triggers.py. Nothing here has a
`HistoricalRecords`: these rows are the record of the record.
"""

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Link `seq` of the chain: names one audited row and fixes its content by hash.

    entry_hash = sha256(seq | stream | record_id | content_hash | prev_hash). Sequence numbers are
    contiguous from 1 (a gap is a deleted link); `prev_hash` is the previous link's `entry_hash`.
    """

    seq = models.BigIntegerField(unique=True, editable=False)
    # "app_label.model" of the audited table, e.g. "tracker.historicalfinding".
    stream = models.CharField(max_length=120, editable=False)
    record_id = models.CharField(max_length=64, editable=False)
    content_hash = models.CharField(max_length=64, editable=False)
    # The columns content_hash covers ("a,b,c"): a column added to the table later (a new field
    # on a clinical model) leaves earlier links verifiable; a removed one shows as altered.
    fields = models.TextField(editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, unique=True, editable=False)
    recorded_at = models.DateTimeField(editable=False)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(fields=["stream", "record_id"], name="audit_entry_once"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.stream} {self.record_id}"


class AuditChainHead(models.Model):
    """The chain's current last link, one row (id 1), kept in step with `AuditEntry` by
    tracker.audit.chain. On PostgreSQL appending a link is one statement: updating this row takes
    its row lock (so concurrent writers queue here until the holder commits) and returns the new
    seq and hashes, which the same statement inserts as the link. It is a cache of the chain's end,
    not evidence: verify_audit reads the links themselves, and a missing row is re-derived from
    them."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seq = models.BigIntegerField(editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_one_row")]

    def __str__(self):
        return f"chain head #{self.seq}"


class FindingAccess(models.Model):
    """Who looked at which finding or patient, when, and through which screen (HIPAA audit
    controls). Written by tracker.audit.access.access_record; chained like a history row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    finding = models.ForeignKey(
        "tracker.Finding",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accesses",
        editable=False,
    )
    patient = models.ForeignKey(
        "tracker.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accesses",
        editable=False,
    )
    accessed_at = models.DateTimeField(editable=False)
    # The screen or endpoint, e.g. "finding_detail", "admin:tracker_finding_change".
    via = models.CharField(max_length=120, editable=False)

    class Meta:
        ordering = ["-accessed_at", "-id"]
        verbose_name = "read access"
        verbose_name_plural = "read access log"
        indexes = [
            models.Index(fields=["finding", "accessed_at"], name="access_finding_idx"),
            models.Index(fields=["patient", "accessed_at"], name="access_patient_idx"),
            models.Index(fields=["user", "accessed_at"], name="access_user_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(finding__isnull=False) | models.Q(patient__isnull=False),
                name="access_names_what",
            ),
        ]

    def __str__(self):
        what = f"finding {self.finding_id}" if self.finding_id else f"patient {self.patient_id}"
        return f"{self.user_id} viewed {what} at {self.accessed_at:%Y-%m-%d %H:%M}"
