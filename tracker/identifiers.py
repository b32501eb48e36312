"""Patient identifiers: the NHS number's Modulus 11 check (NHS Data Dictionary)."""


def nhs_number_is_valid(value):
    """True for a 10-digit NHS number whose last digit is its Modulus 11 check digit."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])
