"""Checks of Chinese identifiers and contact data (pure functions)."""

import re
from datetime import date

MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_PATTERN = re.compile(r"^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$|^400-?\d{3}-?\d{4}$")

# GB 32100-2015: 31 characters (no I, O, Z, S, V), weights 3^i mod 31.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11643-1999: ISO 7064 MOD 11-2.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def is_mainland_mobile(value: str) -> bool:
    return bool(MOBILE_PATTERN.match(value))


def is_landline(value: str) -> bool:
    return bool(LANDLINE_PATTERN.match(value))


def credit_code_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def credit_code_error(value: str) -> str | None:
    """Why ``value`` is not a Unified Social Credit Code, or None when it is one."""
    if len(value) != 18:
        return "must be 18 characters"
    bad = sorted({ch for ch in value if ch not in USCC_CHARSET})
    if bad:
        return f"contains characters not allowed in a credit code: {''.join(bad)}"
    if credit_code_check_char(value[:17]) != value[17]:
        return "check character does not match (GB 32100-2015)"
    return None


def id_number_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_number_error(value: str, *, today: date | None = None) -> str | None:
    """Why ``value`` is not a resident ID number, or None when it is one."""
    if len(value) != 18:
        return "must be 18 characters"
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return "must be 17 digits followed by a digit or X"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth date is not a valid date"
    if born > (today or date.today()) or born.year < 1900:
        return "birth date is out of range"
    if id_number_check_char(value[:17]) != value[17]:
        return "check digit does not match (GB 11643)"
    return None


def mask_id_number(value: str) -> str:
    """``110101199003071234`` → ``1101**********1234``."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
