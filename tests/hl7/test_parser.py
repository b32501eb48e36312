"""The parser splits a message exactly as python-hl7 does, without python-hl7's container tree."""

import hl7
import pytest

from tracker.hl7.parser import decode, read_header, split_message

from .conftest import DATA, load

UNREADABLE = {"bad_msh.hl7", "non_utf8.hl7"}  # refused before splitting
READABLE = [p.name for p in sorted(DATA.glob("*.hl7")) if p.name not in UNREADABLE]
OTHER_SEPARATORS = (
    b"MSH#*@!%#CRIS#RAD1#TRACKER#HOSP#20261123140000##ORU*R01#X-1#P#2.4\r"
    b"PID#1##MRN1*!*!HOSP*MR##DOE*Jane@Roe*A##19700101#F\r"
    b"OBR#1##ACC1#CT1*CT !F! chest#######%X%####ref1*Ref*Al#####CT#F\r"
    b"OBX#1#TX#IMP##first@second!T!third\r"
)


def as_python_hl7_splits(text):
    message = hl7.parse(text)
    return [[str(field) for field in segment] for segment in message], message.separators


@pytest.mark.parametrize("name", READABLE)
def test_it_splits_each_test_message_into_the_fields_python_hl7_finds(name):
    raw = load(name)
    text = decode(raw, read_header(raw))
    expected, separators = as_python_hl7_splits(text)

    segments, our_separators, _ = split_message(text)

    assert our_separators == separators
    assert [s[0] for s in segments] == [s[0] for s in expected]
    for ours, theirs in zip(segments[1:], expected[1:], strict=True):  # MSH is read apart
        assert ours == theirs


def test_it_takes_the_separators_and_the_escape_from_msh2_as_python_hl7_does():
    text = OTHER_SEPARATORS.decode()
    expected, separators = as_python_hl7_splits(text)

    segments, our_separators, context = split_message(text)

    assert our_separators == separators == "\r#@*%"
    assert context.esc == "!"
    assert segments[1:] == expected[1:]
    assert context.unescape("CT !F! chest") == hl7.parse(text).unescape("CT !F! chest")
