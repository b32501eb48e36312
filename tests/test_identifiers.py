"""Patient identifiers: the NHS number's Modulus 11 check digit and the site's MRN pattern."""

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from tracker import identifiers


@pytest.mark.parametrize(
    "number",
    [
        "9434765919",  # the NHS Data Dictionary's example
        "9434765870",
        "4010232137",
    ],
)
def test_valid_nhs_numbers_pass(number):
    assert identifiers.nhs_number_is_valid(number)


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("9434765918", "last digit mistyped"),
        ("9434765991", "two digits swapped"),
        ("1000000010", "check digit would be 10: no valid number starts 100000001"),
        ("943476591", "nine digits"),
        ("94347659190", "eleven digits"),
        ("943476591X", "a letter"),
        ("９４３４７６５９１９", "full-width digits"),
        ("", "empty"),
    ],
)
def test_invalid_nhs_numbers_fail(number, why):
    assert not identifiers.nhs_number_is_valid(number), why


def test_the_check_digit_is_computed_as_the_nhs_data_dictionary_says():
    # 9*10 + 4*9 + 3*8 + 4*7 + 7*6 + 6*5 + 5*4 + 9*3 + 1*2 = 299; 299 % 11 = 2; 11 - 2 = 9.
    assert identifiers.nhs_number_check_digit("943476591") == 9
    assert identifiers.nhs_number_check_digit("100000001") is None  # remainder 1 -> 10


def test_an_nhs_number_typed_in_groups_is_stored_as_ten_digits():
    assert identifiers.clean_nhs_number("943 476 5919") == "9434765919"
    assert identifiers.clean_nhs_number("943-476-5919") == "9434765919"


def test_a_mistyped_nhs_number_says_to_check_it():
    with pytest.raises(ValidationError) as error:
        identifiers.clean_nhs_number("943 476 5918")
    assert error.value.code == "nhs_number_check_digit"
    assert "check digit" in error.value.messages[0]


@pytest.mark.parametrize("mrn", ["MRN0001234", "RX1-22/7", "A"])
def test_the_default_mrn_pattern_accepts_ordinary_hospital_numbers(mrn):
    assert identifiers.clean_mrn(mrn) == mrn


@pytest.mark.parametrize(
    "mrn", ["MRN 0001234", "MRN\t1", "MRN\x00123", "MRN\x7f1", "MRN\u00851", "A" * 41, ""]
)
def test_the_default_mrn_pattern_refuses_whitespace_and_control_characters(mrn):
    with pytest.raises(ValidationError):
        identifiers.clean_mrn(mrn)


def test_a_site_sets_its_own_mrn_pattern(settings):
    settings.PATIENT_MRN_PATTERN = r"RX[0-9]{7}"
    assert identifiers.clean_mrn("RX1234567") == "RX1234567"
    with pytest.raises(ValidationError):
        identifiers.clean_mrn("RX123456")


def test_a_broken_mrn_pattern_is_a_configuration_error_not_a_crash_per_request(settings):
    settings.PATIENT_MRN_PATTERN = "RX[0-9"
    with pytest.raises(ImproperlyConfigured):
        identifiers.clean_mrn("RX1")
