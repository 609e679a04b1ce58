"""Customer codes: ``<prefix><year><serial>``, serial restarting yearly, at least 3 digits."""


def sequence_scope(prefix: str, year: int) -> str:
    """The counter a code draws from: one per prefix and year."""
    return f"customer:{prefix}:{year}"


def format_customer_code(prefix: str, year: int, serial: int) -> str:
    if serial < 1:
        raise ValueError("serial starts at 1")
    return f"{prefix}{year}{serial:03d}"
