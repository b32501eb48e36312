"""What a message is made of once read: error codes, HL7Error, and the parsed values."""

from dataclasses import dataclass, field
from datetime import date, datetime

SUPPORTED_VERSIONS = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1"}
# HL7 table 0357 (message error condition codes).
SEGMENT_SEQUENCE = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_VERSION = "203"
UNKNOWN_KEY = "204"
DUPLICATE_KEY = "205"
INTERNAL_ERROR = "207"

# MSH-18 values we decode, and how. Empty MSH-18: UTF-8 (ASCII is a subset).
CHARSETS = {"": "utf-8", "UNICODE UTF-8": "utf-8", "ASCII": "ascii", "8859/1": "latin-1"}


class HL7Error(Exception):
    def __init__(self, message, *, ack_code="AE", code=INTERNAL_ERROR, location=""):
        super().__init__(message)
        self.message = message
        self.ack_code = ack_code
        self.code = code
        self.location = location


def reject(message, code, location=""):
    return HL7Error(message, ack_code="AR", code=code, location=location)


@dataclass
class Header:
    """MSH, read from the raw bytes before decoding (so that we can answer any message)."""

    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""
    trigger_event: str = ""
    control_id: str = ""
    processing_id: str = "P"
    version: str = ""
    charset: str = ""

    @property
    def sender(self):
        return "^".join(p for p in (self.sending_application, self.sending_facility) if p)

    @property
    def message_key(self):
        return f"{self.sender}|{self.control_id}" if self.control_id else ""

    @property
    def type_label(self):
        return "^".join(p for p in (self.message_type, self.trigger_event) if p)


@dataclass
class Person:
    """An XCN / CNN: id, family, given, assigning authority."""

    id: str = ""
    family: str = ""
    given: str = ""
    authority: str = ""

    def __bool__(self):
        return bool(self.id or self.family)


@dataclass
class Observation:
    set_id: str
    value_type: str
    code: str
    code_text: str
    value: str
    abnormal_flags: list[str]


@dataclass
class Order:
    """One OBR group: the exam and its observations."""

    index: int
    accession_number: str
    service_code: str
    service_text: str
    modality_code: str
    performed_at: datetime | None
    ordering_provider: Person
    interpreter: Person
    result_status: str
    observations: list[Observation] = field(default_factory=list)


@dataclass
class PatientDetails:
    identifier: str
    family_name: str
    given_name: str
    date_of_birth: date | None
    location: str


@dataclass
class Report:
    header: Header
    patient: PatientDetails
    orders: list[Order]
