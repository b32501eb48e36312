"""Read an ORU^R01 (HL7 v2.3 to v2.5.1) into plain values. One parser for MLLP and HTTP.

The message is split as python-hl7 splits it (`split_message`); this module checks the header,
the character set and the segment order, and pulls out the fields the tracker uses. Every problem
raises `HL7Error` with the ACK code it deserves (AR: we cannot or will not read it; AE: we read it
but cannot use it), an HL7 table 0357 error code and the location (e.g. `PID-3`).
"""

import logging
import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import hl7
from django.conf import settings
from hl7.util import unescape

from .message import (
    CHARSETS,
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE,
    SUPPORTED_VERSIONS,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_VERSION,
    Header,
    HL7Error,
    Observation,
    Order,
    PatientDetails,
    Person,
    Report,
    reject,
)


class _WithoutFieldContent(logging.Filter):
    """python-hl7 logs the whole field it could not unescape (a patient's name, say), and the
    exception's text quotes it too: keep that it happened, never what the field held."""

    def filter(self, record):
        record.msg = (
            "python-hl7 could not read an escape sequence in a field and left it out "
            "(the field's content is not logged)"
        )
        record.args = ()
        record.exc_info = record.exc_text = record.stack_info = None
        return True


for _logger in (hl7.util.logger, hl7.containers.logger):
    _logger.addFilter(_WithoutFieldContent())


def normalise(raw):
    """Segments end with CR. Accept LF and CRLF from senders that use them; trim the ends."""
    return raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").strip(b"\r \t\x00")


def read_header(raw):
    """The MSH from raw bytes. Raises AR for a message we cannot answer sensibly."""
    raw = normalise(raw)
    if not raw.startswith(b"MSH") or len(raw) < 8:
        raise reject("The message does not start with an MSH segment.", SEGMENT_SEQUENCE, "MSH")
    first = raw.split(b"\r", 1)[0].decode("latin-1")
    separator = first[3]
    encoding = first[4:8]
    if separator.isalnum() or len(set(encoding)) != 4 or separator in encoding:
        raise reject("MSH-1/MSH-2 separators are invalid.", DATA_TYPE_ERROR, "MSH-2")
    fields = first.split(separator)
    fields.insert(1, separator)  # MSH-1 is the separator itself: keep HL7's numbering

    def get(n, comp=0):
        if n >= len(fields):
            return ""
        components = fields[n].split(encoding[1])[0].split(encoding[0])
        return components[comp].strip() if comp < len(components) else ""

    header = Header(
        sending_application=get(3),
        sending_facility=get(4),
        receiving_application=get(5),
        receiving_facility=get(6),
        message_type=get(9, 0),
        trigger_event=get(9, 1),
        control_id=get(10)[:199],
        processing_id=get(11) or "P",
        version=get(12),
        charset=get(18).upper(),
    )
    if not header.control_id:
        raise reject("MSH-10 (message control id) is empty.", REQUIRED_FIELD_MISSING, "MSH-10")
    if header.version not in SUPPORTED_VERSIONS:
        raise reject(
            f"HL7 version '{header.version}' is not supported (2.3 to 2.5.1).",
            UNSUPPORTED_VERSION,
            "MSH-12",
        )
    if header.message_type != "ORU":
        raise reject(
            f"Message type '{header.type_label}' is not accepted (ORU^R01 only).",
            UNSUPPORTED_MESSAGE_TYPE,
            "MSH-9",
        )
    if header.trigger_event != "R01":
        raise reject(
            f"Trigger event '{header.trigger_event}' is not accepted (ORU^R01 only).",
            UNSUPPORTED_EVENT,
            "MSH-9",
        )
    return header


def decode(raw, header):
    codec = CHARSETS.get(header.charset)
    if codec is None:
        raise reject(f"Character set '{header.charset}' is not supported.", "203", "MSH-18")
    try:
        return normalise(raw).decode(codec)
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise reject(
            f"The message is not valid {codec.upper()} (byte 0x{bad} at offset {exc.start}); "
            "declare its character set in MSH-18.",
            DATA_TYPE_ERROR,
            "MSH-18",
        ) from exc


# Which segments may follow which (ORU^R01 structure, simplified to one patient per message).
_BEFORE_PATIENT = {"SFT"}
_PATIENT_GROUP = {"PD1", "NTE", "NK1", "PV1", "PV2"}
_ORDER_GROUP = {"NTE", "TQ1", "TQ2", "CTD", "OBX", "SPM", "FT1", "CTI", "ORC", "OBR"}


def check_segment_order(names):
    if "PID" not in names:
        raise HL7Error("The PID segment is missing.", code=REQUIRED_FIELD_MISSING, location="PID")
    if "OBR" not in names:
        raise HL7Error("The OBR segment is missing.", code=REQUIRED_FIELD_MISSING, location="OBR")
    state = "header"
    for position, name in enumerate(names[1:], start=2):
        if name.startswith("Z") or name == "DSC":
            continue
        wrong = HL7Error(
            f"Segment {name} (segment {position}) is out of order for ORU^R01.",
            code=SEGMENT_SEQUENCE,
            location=name,
        )
        if state == "header":
            if name == "PID":
                state = "patient"
            elif name not in _BEFORE_PATIENT:
                raise wrong
        elif state == "patient":
            if name == "ORC":
                state = "order_control"
            elif name == "OBR":
                state = "order"
            elif name not in _PATIENT_GROUP:
                raise wrong
        elif state == "order_control":
            if name == "OBR":
                state = "order"
            elif name not in {"NTE", "TQ1"}:
                raise wrong
        elif state == "order":
            if name == "ORC":
                state = "order_control"
            elif name == "PID":
                raise HL7Error(
                    "Only one patient per message is accepted (second PID).",
                    code=SEGMENT_SEQUENCE,
                    location="PID",
                )
            elif name not in _ORDER_GROUP:
                raise wrong


def split_message(text):
    """Segments as lists of fields, and the separators, exactly as python-hl7 would split them.

    python-hl7's tree of containers (a message, segments, fields, repetitions, components) cost
    more CPU than the rest of parsing together at hundreds of messages a second; the fields'
    text is all we read, so this splits to that level only and the rest is done on demand. The
    separators come from MSH-1/MSH-2 as python-hl7 takes them (`hl7.parser.create_parse_plan`),
    and escapes are resolved by python-hl7 (`hl7.util.unescape`).
    """
    text = text.strip()
    if text[:3] not in ("MSH", "FHS", "BHS"):
        raise ValueError(f"First segment is {text[:3]}, must be one of MSH, FHS or BHS")
    seps = text[3 : text.find(text[3], 4)]
    separators = "\r" + seps[0]
    separators += seps[2] if len(seps) > 2 else "~"  # repetition
    separators += seps[1] if len(seps) > 1 else "^"  # component
    separators += seps[4] if len(seps) > 4 else "&"  # sub-component
    context = hl7.Message(esc=seps[3] if len(seps) > 3 else "\\", separators=separators)
    segments = [line.split(seps[0]) for line in text.split("\r")]
    for fields in segments:
        if fields[0][:3] in ("MSH", "FHS", "BHS"):
            fields[0] = fields[0][:3]  # python-hl7 names a header segment by its first 3 letters
    return segments, separators, context


class _Segment:
    """Field access by HL7 number, with components, repetitions and escapes resolved."""

    def __init__(self, fields, separators, context):
        self.fields = fields  # fields[0] is the segment's name; not used for MSH
        self.separators = separators  # '\r|~^&': segment, field, repetition, component, sub
        self.context = context

    def unescape(self, value):
        return unescape(self.context, value)

    def raw(self, n):
        return self.fields[n] if n < len(self.fields) else ""

    def repeats(self, n):
        return self.raw(n).split(self.separators[2])

    def get(self, n, comp=1, sub=1, rep=1):
        reps = self.repeats(n)
        if rep > len(reps):
            return ""
        comps = reps[rep - 1].split(self.separators[3])
        if comp > len(comps):
            return ""
        subs = comps[comp - 1].split(self.separators[4])
        if sub > len(subs):
            return ""
        return self.unescape(subs[sub - 1]).strip()


def _timestamp(value, location):
    """HL7 TS (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]). No zone: the site's local time."""
    if not value:
        return None
    match = re.fullmatch(
        r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?", value
    )
    if not match:
        raise HL7Error(
            f"'{value}' is not an HL7 timestamp.", code=DATA_TYPE_ERROR, location=location
        )
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        if offset:
            sign = 1 if offset[0] == "+" else -1
            minutes = sign * (int(offset[1:3]) * 60 + int(offset[3:5]))
            tz = timezone(timedelta(minutes=minutes))
        else:
            tz = ZoneInfo(settings.TIME_ZONE)
        moment = datetime(
            int(year), int(month or 1), int(day or 1),
            int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz,
        )  # fmt: skip
    except ValueError as exc:
        raise HL7Error(
            f"'{value}' is not a valid date/time.", code=DATA_TYPE_ERROR, location=location
        ) from exc
    return moment.astimezone(UTC)


def _date(value, location):
    """HL7 DT / the date part of a TS (a date of birth has no time zone)."""
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", value[:8])
    try:
        return date(*(int(g) for g in match.groups())) if match else _no_date(value, location)
    except ValueError:
        return _no_date(value, location)


def _no_date(value, location):
    raise HL7Error(f"'{value}' is not a valid date.", code=DATA_TYPE_ERROR, location=location)


def _person(seg, n, rep=1):
    return Person(
        id=seg.get(n, 1, rep=rep),
        family=seg.get(n, 2, rep=rep),
        given=seg.get(n, 3, rep=rep),
        authority=seg.get(n, 9, rep=rep),
    )


def _interpreter(seg):
    """OBR-32 is NDL: its first component is a CNN whose parts are sub-components."""
    return Person(
        id=seg.get(32, 1, 1),
        family=seg.get(32, 1, 2),
        given=seg.get(32, 1, 3),
        authority=seg.get(32, 1, 9),
    )


def parse(raw):
    """bytes -> Report, or HL7Error."""
    header = read_header(raw)
    text = decode(raw, header)
    try:
        segments, separators, context = split_message(text)
    except Exception as exc:  # broken structure
        raise reject(f"The message cannot be parsed: {exc}", SEGMENT_SEQUENCE) from exc
    names = [fields[0] for fields in segments]
    check_segment_order(names)

    patient = None
    orders = []
    order_control = None
    for fields in segments:
        seg = _Segment(fields, separators, context)
        name = fields[0]
        if name == "PID":
            identifier = seg.get(3)
            if not identifier:
                raise HL7Error(
                    "PID-3 (patient identifier) is empty.",
                    code=REQUIRED_FIELD_MISSING,
                    location="PID-3",
                )
            family = seg.get(5)
            if not family:
                raise HL7Error(
                    "PID-5 (patient name) has no family name.",
                    code=REQUIRED_FIELD_MISSING,
                    location="PID-5",
                )
            patient = PatientDetails(
                identifier=identifier[:40],
                family_name=family[:100],
                given_name=seg.get(5, 2)[:100],
                date_of_birth=_date(seg.get(7), "PID-7"),
                location="",
            )
        elif name == "PV1" and patient is not None:
            patient.location = " ".join(
                p for p in (seg.get(3, 1), seg.get(3, 2), seg.get(3, 3)) if p
            )[:80]
        elif name == "ORC":
            order_control = seg
        elif name == "OBR":
            location = f"OBR({len(orders) + 1})"
            accession = seg.get(3) or seg.get(18) or (order_control.get(3) if order_control else "")
            if not accession:
                raise HL7Error(
                    "OBR-3 (filler order number / accession) is empty.",
                    code=REQUIRED_FIELD_MISSING,
                    location=f"{location}-3" if len(orders) else "OBR-3",
                )
            ordering = _person(seg, 16)
            if not ordering and order_control is not None:
                ordering = _person(order_control, 12)
            orders.append(
                Order(
                    index=len(orders) + 1,
                    accession_number=accession[:40],
                    service_code=seg.get(4, 1),
                    service_text=seg.get(4, 2) or seg.get(4, 1),
                    modality_code=seg.get(24).upper(),
                    performed_at=_timestamp(seg.get(7), "OBR-7"),
                    ordering_provider=ordering,
                    interpreter=_interpreter(seg),
                    result_status=seg.get(25).upper(),
                )
            )
            order_control = None
        elif name == "OBX" and orders:
            flags = [f.split(seg.separators[3])[0].strip().upper() for f in seg.repeats(8)]
            value_reps = [seg.unescape(r).strip() for r in seg.repeats(5) if r.strip()]
            value_type = seg.get(2).upper()
            if value_type in {"CE", "CWE", "CNE", "CF"}:
                value = seg.get(5, 1)
            else:
                value = "\n".join(value_reps)
            orders[-1].observations.append(
                Observation(
                    set_id=seg.get(1),
                    value_type=value_type,
                    code=seg.get(3, 1),
                    code_text=seg.get(3, 2),
                    value=value,
                    abnormal_flags=[f for f in flags if f],
                )
            )
    return Report(header=header, patient=patient, orders=orders)
