"""When to try a failed delivery again: exponential backoff with full jitter, capped, and when
to give up. One rule for every channel and for partner webhooks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

# Attempt 1 failed → wait about 10 s; then 20, 40 … up to an hour; after MAX_ATTEMPTS, failed.
BASE_SECONDS = 10.0
CAP_SECONDS = 3600.0
MAX_ATTEMPTS = 8


def backoff(attempts: int, *, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: a random share of
    ``min(cap, base * 2 ** (attempts - 1))``, between half of it and all of it ("equal jitter":
    never much sooner than the backoff, and retries of many deliveries that
    failed together spread out instead of hitting the receiver together again)."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def next_attempt(
    now: datetime, attempts: int, *, max_attempts: int = MAX_ATTEMPTS, base: float = BASE_SECONDS
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None: give up."""
    if attempts >= max_attempts:
        return None
    return now + backoff(attempts, base=base)
