"""The ACK we answer each message with (original acknowledgement mode)."""

from .. import clock
from .message import SUPPORTED_VERSIONS

DEFAULT_VERSION = "2.5.1"


def escape(text):
    """HL7 escape sequences for the delimiters, so a reason cannot break the ACK."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    return out.replace("\r", " ").replace("\n", " ")


def _error_segment(version, code, text, location):
    segment, _, field = location.partition("-")
    if version in {"2.5", "2.5.1"}:
        where = f"{segment}^1^{field}" if location else ""
        return f"ERR||{where}|{code}^{escape(text)}^HL70357|E"
    where = f"{segment}^1^{field}" if location else "^^"
    return f"ERR|{where}^{code}&{escape(text)}&HL70357"


def build_ack(header, ack_code, *, ack_id, text="", error_code="", location=""):
    """An ACK for `header` (which may be None when the MSH could not be read)."""
    version = header.version if header and header.version in SUPPORTED_VERSIONS else None
    version = version or DEFAULT_VERSION
    stamp = clock.now().strftime("%Y%m%d%H%M%S+0000")
    sender_app = escape(header.receiving_application) if header else ""
    sender_fac = escape(header.receiving_facility) if header else ""
    to_app = escape(header.sending_application) if header else ""
    to_fac = escape(header.sending_facility) if header else ""
    processing = escape(header.processing_id) if header else "P"
    control_id = escape(header.control_id) if header else ""
    trigger = "R01" if header and header.trigger_event == "R01" else ""
    segments = [
        f"MSH|^~\\&|{sender_app or 'TRACKER'}|{sender_fac}|{to_app}|{to_fac}|{stamp}||"
        f"ACK^{trigger}^ACK|{ack_id}|{processing}|{version}",
        f"MSA|{ack_code}|{control_id}|{escape(text)[:80]}",
    ]
    if ack_code != "AA":
        segments.append(_error_segment(version, error_code or "207", text, location))
    return "\r".join(segments) + "\r"


def ack_code_of(ack_text):
    """MSA-1 of an ACK we built (or received)."""
    for segment in ack_text.split("\r"):
        if segment.startswith("MSA|"):
            return segment.split("|")[1]
    return ""
