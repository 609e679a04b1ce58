"""Calendar quarters of the business (seed 002: customers are reviewed every quarter).

Quarters are counted in the business time zone (settings.timezone, Asia/Shanghai), not in UTC:
00:30 on 1 April in Shanghai is already the second quarter although it is still 31 March in
UTC. The boundaries are returned in UTC because timestamps are stored in UTC.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1..4

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    def start(self, tz: ZoneInfo) -> datetime:
        """The first instant of the quarter, in UTC."""
        local = datetime(self.year, 3 * (self.number - 1) + 1, 1, tzinfo=tz)
        return local.astimezone(UTC)

    def next(self) -> "Quarter":
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def end(self, tz: ZoneInfo) -> datetime:
        """The first instant after the quarter, in UTC (exclusive bound)."""
        return self.next().start(tz)


def quarter_of(moment: datetime, tz: ZoneInfo) -> Quarter:
    """The quarter ``moment`` falls in, as a calendar in ``tz`` sees it."""
    if moment.tzinfo is None:
        raise ValueError("quarter_of needs an aware datetime (store and pass times in UTC)")
    local = moment.astimezone(tz)
    return Quarter(local.year, (local.month - 1) // 3 + 1)


def current_quarter_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Customers last reviewed before this instant (UTC) are due for review."""
    return quarter_of(now, tz).start(tz)
