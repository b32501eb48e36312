"""Receive one HL7 v2 message (from MLLP or HTTP): store it, process it, answer with an ACK.

- Every message is stored whole (raw bytes) before anything else; a message that cannot be
  processed stays as a dead letter (status error/rejected) for an administrator to re-process.
- Idempotent on MSH-10 (with the sender): a resend of a processed message gets the stored ACK and
  records nothing new; a resend of a dead letter is processed again on the same row.
- Patients, exams and findings are created only through the services, in one transaction with
  the message's status: either all of it is recorded, or none of it and a dead letter.
"""

import logging
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from .. import clock
from ..audit import chain
from ..models import InboundMessage, MessageStatus
from ..models.findings import OPEN_STATUSES
from ..services import exams as exam_services
from ..services import findings as finding_services
from . import mapping
from .ack import build_ack
from .message import (
    DUPLICATE_KEY,
    INTERNAL_ERROR,
    REQUIRED_FIELD_MISSING,
    TABLE_VALUE_NOT_FOUND,
    HL7Error,
    reject,
)
from .parser import parse, read_header

logger = logging.getLogger(__name__)
SUBMISSION_NAMESPACE = uuid.UUID("0b6f7a55-5c1e-4a0e-9d61-7d1f1a2f4c37")

# Service field -> where it came from in the message, for MSA-3 / ERR.
FIELD_LOCATIONS = {
    "identifier": "PID-3",
    "family_name": "PID-5",
    "accession_number": "OBR-3",
    "modality": "OBR-24",
    "responsible_clinician": "OBR-16",
    "category": "OBX-8",
    "description": "OBX-5",
    "status": "OBR-25",
}


def _error_from_validation(exc):
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        message = "; ".join(m for e in errors for m in e.messages)
        return HL7Error(
            f"{FIELD_LOCATIONS.get(field, field)}: {message}",
            code=REQUIRED_FIELD_MISSING if "Enter" in message else TABLE_VALUE_NOT_FOUND,
            location=FIELD_LOCATIONS.get(field, ""),
        )
    return HL7Error("; ".join(exc.messages), code=INTERNAL_ERROR)


def _apply(report, message):
    """Create or update the exam (and the finding when flagged) for each OBR."""
    patient_details = report.patient
    for order in report.orders:
        radiologist, ordering = mapping.clinicians_for(order)
        modality = mapping.modality_for(order)
        if modality is None:
            raise HL7Error(
                f"OBR-24 '{order.modality_code}' is not a known modality.",
                code=TABLE_VALUE_NOT_FOUND,
                location="OBR-24",
            )
        category = mapping.category_for(order.observations)  # before any row is written
        exam = exam_services.result_register(
            actor=radiologist,
            accession_number=order.accession_number,
            patient={
                "identifier": patient_details.identifier,
                "family_name": patient_details.family_name,
                "given_name": patient_details.given_name,
                "date_of_birth": patient_details.date_of_birth,
            },
            exam={
                "modality": modality,
                "description": order.service_text[:200],
                "performed_at": order.performed_at,
                "ordering_clinician": ordering,
                "location": patient_details.location,
            },
        )
        message.exam = exam
        if category is None:
            continue
        # An unknown ordering clinician is a routing problem, never a reason to refuse a flagged
        # result: finding_flag accepts it unrouted, for the radiologist to route.
        existing = exam.findings.filter(status__in=OPEN_STATUSES).order_by("flagged_at").first()
        if existing is not None:
            if existing.category != category:
                finding_services.finding_recategorise(
                    actor=radiologist,
                    finding=existing,
                    category=category,
                    reason=f"Amended report from {report.header.sender or 'the RIS'} "
                    f"(MSH-10 {report.header.control_id}).",
                )
            message.finding = existing
            continue
        message.finding = finding_services.finding_flag(
            actor=radiologist,
            accession_number=exam.accession_number,
            category=category,
            description=mapping.description_for(order),
            reporting_radiologist=radiologist,
            submission_key=uuid.uuid5(
                SUBMISSION_NAMESPACE, f"{message.message_key}|{order.accession_number}"
            ),
        )


def _ack_id():
    # MSH-10 of our ACK: unique, at most 20 characters (ST in v2.3-v2.5.1). Not the row's id: on
    # the fast path the ACK is built before the row is inserted.
    return f"ACK{uuid.uuid4().hex[:16]}"


def _finish(message, header, ack_code, *, text="", error_code="", location=""):
    message.ack_code = ack_code
    message.status = {
        "AA": MessageStatus.PROCESSED,
        "AE": MessageStatus.ERROR,
        "AR": MessageStatus.REJECTED,
    }[ack_code]
    message.error = "" if ack_code == "AA" else text
    message.error_location = "" if ack_code == "AA" else location
    message.processed_at = clock.now()
    message.ack = build_ack(
        header,
        ack_code,
        ack_id=_ack_id(),
        text=text,
        error_code=error_code,
        location=location,
    )


def _process(message, raw, header):
    """Parse and apply inside a savepoint; record the outcome on `message` either way."""
    try:
        report = parse(raw)
        try:
            with transaction.atomic():
                _apply(report, message)
        except IntegrityError:
            # Another connection registered the same patient/exam at the same moment and won;
            # its rows are committed now, so a second pass updates them instead.
            message.exam = message.finding = None
            with transaction.atomic():
                _apply(report, message)
        _finish(message, header, "AA", text="Message accepted.")
    except HL7Error as exc:
        message.exam = message.finding = None
        _finish(
            message,
            header,
            exc.ack_code,
            text=exc.message,
            error_code=exc.code,
            location=exc.location,
        )
    except ValidationError as exc:
        message.exam = message.finding = None
        err = _error_from_validation(exc)
        _finish(message, header, "AE", text=err.message, error_code=err.code, location=err.location)
    except PermissionDenied as exc:
        message.exam = message.finding = None
        _finish(message, header, "AE", text=str(exc), error_code=INTERNAL_ERROR)
    except Exception as exc:
        # A bug must not lose the message: it waits as a dead letter. The log names the row and
        # the error class only (an exception's text can quote patient data).
        logger.error("HL7 message %s failed: internal error %s", message.pk, type(exc).__name__)
        message.exam = message.finding = None
        _finish(
            message, header, "AE",
            text=f"Internal error ({type(exc).__name__}); the message is kept for review.",
            error_code=INTERNAL_ERROR,
        )  # fmt: skip


def _new_message(raw, header, entry_point, message_key=""):
    return InboundMessage(
        message_key=message_key,
        control_id=header.control_id if header else "",
        sender=header.sender[:200] if header else "",
        message_type=header.type_label[:40] if header else "",
        version=header.version[:10] if header else "",
        entry_point=entry_point,
        raw=raw,
    )


def _store(raw, header, entry_point, message_key=""):
    """Keep the message whole before anything else happens to it."""
    message = _new_message(raw, header, entry_point, message_key)
    message.save()
    return message


def _receive_new(raw, header, entry_point, key):
    """The common case, a new message that processes cleanly, in one transaction with no
    savepoint: process, then insert the message with its outcome. Anything else (a resend, a
    message in error, a race with another connection) rolls all of it back and returns None, and
    `receive` takes the careful path below from the start, which stores the message first."""
    try:
        message = _new_message(raw, header, entry_point, key)
        report = parse(raw)
        # The ACK is built before the transaction, and the audit links are appended last in it:
        # the chain's head row, which every other connection waits for, is then held only from
        # the links to the commit.
        _finish(message, header, "AA", text="Message accepted.")
        with transaction.atomic(), chain.links_before_commit():
            _apply(report, message)
            message.processed_at = clock.now()
            message.save()
        return message
    except Exception:  # noqa: BLE001 - handled, and recorded, by the careful path
        return None


def receive(raw, *, entry_point):
    """Store, process and answer one message. Returns the InboundMessage (its `.ack` is the ACK)."""
    raw = bytes(raw)
    try:
        header, header_error = read_header(raw), None
    except HL7Error as exc:
        header, header_error = None, exc
    key = header.message_key if header else ""
    if header_error is None and key:
        message = _receive_new(raw, header, entry_point, key)
        if message is not None:
            return message
    try:
        # Store first, then process, in one transaction: an error is recorded on the stored row.
        with transaction.atomic():
            message = _store(raw, header, entry_point, message_key=key)
            _run(message, raw, header, header_error)
            _save_outcome(message)
        return message
    except IntegrityError:
        if not key:
            raise
    # MSH-10 seen before (the insert hit the unique key; processing errors never get here).
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(message_key=key)
        if message.status == MessageStatus.PROCESSED:
            if bytes(message.raw) != raw:
                return _duplicate_key(raw, header, entry_point)
            return message  # a resend: the same ACK, nothing new
        message.raw = raw  # a dead letter sent again: process it again, on the same row
        message.attempts += 1
        _run(message, raw, header, header_error)
        message.save()
    return message


def _save_outcome(message):
    message.save(
        update_fields=[
            "status",
            "ack_code",
            "ack",
            "error",
            "error_location",
            "processed_at",
            "exam",
            "finding",
        ]
    )


def _run(message, raw, header, header_error):
    if header_error is not None:
        _finish(
            message,
            None,
            header_error.ack_code,
            text=header_error.message,
            error_code=header_error.code,
            location=header_error.location,
        )
        return
    _process(message, raw, header)


def _duplicate_key(raw, header, entry_point):
    """Same MSH-10 as a processed message but different content: keep it, refuse it."""
    message = _store(raw, header, entry_point)
    error = reject(
        f"MSH-10 '{header.control_id}' was already used for a different message.",
        DUPLICATE_KEY,
        "MSH-10",
    )
    _run(message, raw, header, error)
    message.save()
    return message


def receive_truncated(raw, reason, *, entry_point):
    """A frame that never ended: keep what arrived as a dead letter and answer AR."""
    raw = bytes(raw)
    try:
        header = read_header(raw)
    except HL7Error:
        header = None
    message = _store(raw, header, entry_point)
    _finish(message, header, "AR", text=reason, error_code="100")
    message.save()
    return message


def reprocess(message, *, by):
    """Run a dead letter through ingest again (after the site fixed what was missing)."""
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if not message.is_dead_letter:
            return message
        raw = bytes(message.raw)
        try:
            header, header_error = read_header(raw), None
        except HL7Error as exc:
            header, header_error = None, exc
        message.attempts += 1
        message.reprocessed_by = by
        _run(message, raw, header, header_error)
        message.save()
    return message


def storage_failure_ack(raw):
    """The ACK for a message we could not even store: AR, so that the sender resends it."""
    try:
        header = read_header(raw)
    except HL7Error:
        header = None
    return build_ack(
        header,
        "AR",
        ack_id=f"ACKX{uuid.uuid4().hex[:16]}",
        text="The message could not be stored just now; please resend it.",
        error_code=INTERNAL_ERROR,
    )
