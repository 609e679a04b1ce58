"""Customer code format (pure)."""

import pytest

from crm_customers.domain.codes import format_customer_code


@pytest.mark.parametrize(
    ("serial", "code"),
    [(1, "ABC2024001"), (42, "ABC2024042"), (999, "ABC2024999"), (1000, "ABC20241000")],
)
def test_serial_has_at_least_three_digits_and_widens(serial: int, code: str) -> None:
    assert format_customer_code("ABC", 2024, serial) == code


def test_serial_starts_at_one() -> None:
    with pytest.raises(ValueError):
        format_customer_code("ABC", 2024, 0)
