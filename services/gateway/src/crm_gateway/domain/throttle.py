"""Login throttling: after too many failed logins for one username, or from one client
address, within a moving window, further attempts are refused until the window has passed.

Counted with the ``limits`` library's moving window in its in-memory storage: per process.
Several gateway replicas need a shared storage (``limits`` speaks Redis, Memcached,
MongoDB) so that failures on one replica count on all; see docs/gateway.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from crm_platform.errors import DomainError


class LoginThrottled(DomainError):
    """Too many failed logins: try again after ``retry_after`` seconds (HTTP 429)."""

    slug = "login-throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-ins; try again in {retry_after} seconds.",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


@dataclass
class LoginThrottle:
    max_per_username: int = 5
    max_per_ip: int = 20
    window_seconds: int = 15 * 60
    storage: Storage = field(default_factory=MemoryStorage)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._per_username = RateLimitItemPerSecond(self.max_per_username, self.window_seconds)
        self._per_ip = RateLimitItemPerSecond(self.max_per_ip, self.window_seconds)

    def _buckets(self, username: str, ip: str | None) -> list[tuple[object, str]]:
        buckets: list[tuple[object, str]] = [(self._per_username, f"user:{username.casefold()}")]
        if ip:
            buckets.append((self._per_ip, f"ip:{ip}"))
        return buckets

    def check(self, username: str, ip: str | None) -> None:
        """Refuse (``LoginThrottled``) while either bucket is full; before any password work."""
        waits = []
        for limit, key in self._buckets(username, ip):
            if not self._limiter.test(limit, "login-failures", key):  # type: ignore[arg-type]
                stats = self._limiter.get_window_stats(limit, "login-failures", key)  # type: ignore[arg-type]
                waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        if waits:
            raise LoginThrottled(max(waits))

    def failed(self, username: str, ip: str | None) -> None:
        for limit, key in self._buckets(username, ip):
            self._limiter.hit(limit, "login-failures", key)  # type: ignore[arg-type]

    def succeeded(self, username: str) -> None:
        """A successful login forgets the username's failures (not the address's)."""
        self._limiter.clear(self._per_username, "login-failures", f"user:{username.casefold()}")
