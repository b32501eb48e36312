"""Patient identifiers as typed on a screen: NHS numbers (Modulus 11) and local hospital numbers.

Pure functions, no database: a wrong identifier typed on the flag form would attach a critical
result to the wrong patient, so what can be checked is checked before anything is saved.
"""

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from .models.people import IdentifierKind

# In the order the screens offer them: NHS number first (checked by its check digit).
NHS_NUMBER = IdentifierKind.NHS_NUMBER
MRN = IdentifierKind.MRN
KIND_CHOICES = [(NHS_NUMBER.value, NHS_NUMBER.label), (MRN.value, MRN.label)]

# Spaces and hyphens people type between the 3-3-4 groups of an NHS number ("943 476 5919").
_NHS_SEPARATORS = re.compile(r"[\s-]")


def nhs_number_check_digit(first_nine):
    """The Modulus 11 check digit of the first nine digits, or None when there is none
    (a remainder giving 10 means no valid NHS number starts with these nine digits)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def nhs_number_is_valid(value):
    """True for ten digits whose last is the Modulus 11 check digit of the first nine."""
    if not (isinstance(value, str) and len(value) == 10 and value.isascii() and value.isdigit()):
        return False
    return nhs_number_check_digit(value[:9]) == int(value[9])


def clean_nhs_number(value):
    """The NHS number as ten digits, or a ValidationError saying what is wrong."""
    digits = _NHS_SEPARATORS.sub("", value or "")
    if not (len(digits) == 10 and digits.isascii() and digits.isdigit()):
        raise ValidationError(
            "An NHS number has 10 digits (e.g. 943 476 5919). Check the number, or choose "
            "hospital number if it is not an NHS number.",
            code="nhs_number_format",
        )
    if not nhs_number_is_valid(digits):
        raise ValidationError(
            "This is not a valid NHS number: its check digit does not match. A digit is "
            "probably mistyped; check it against the request form or the patient's record.",
            code="nhs_number_check_digit",
        )
    return digits


def mrn_pattern():
    """The site's hospital-number format (setting PATIENT_MRN_PATTERN, whole value; services
    and screens both check it)."""
    pattern = settings.PATIENT_MRN_PATTERN
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ImproperlyConfigured(
            f"PATIENT_MRN_PATTERN is not a regular expression: {error}"
        ) from error


def clean_mrn(value):
    """A hospital number that matches the site's pattern (setting PATIENT_MRN_PATTERN)."""
    value = (value or "").strip()
    if not mrn_pattern().fullmatch(value):
        raise ValidationError(
            "This does not look like one of this hospital's patient numbers (no spaces or "
            "special characters). Check it against the request form.",
            code="mrn_format",
        )
    return value


def clean_identifier(value, kind):
    """Check an identifier as the kind the user declared it to be."""
    if kind == NHS_NUMBER:
        return clean_nhs_number(value)
    return clean_mrn(value)
