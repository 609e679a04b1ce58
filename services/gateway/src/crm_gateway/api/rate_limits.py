"""Requests per principal: one budget per person, one per API key (``limits``, in memory).

A sliding-window counter (the ``limits`` library's): constant work per request, and no burst
of twice the rate across a window's edge as a fixed window allows. The budget lives in this
process; several gateway replicas each keep their own.
"""

from __future__ import annotations

import math
import time

from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from crm_gateway.domain.principals import Principal
from crm_gateway.settings import GatewaySettings
from crm_platform.http.problems import problem_response


class RateLimits:
    def __init__(self, settings: GatewaySettings) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._person: RateLimitItem = parse(settings.rate_limit)
        self._key: RateLimitItem = parse(settings.api_key_rate_limit)

    def item_for(self, principal: Principal) -> RateLimitItem:
        return self._key if principal.key_id else self._person

    async def refusal(self, principal: Principal, instance: str) -> JSONResponse | None:
        """None while ``principal`` is within its budget (the request is counted); else the
        429 problem saying when to come back."""
        item = self.item_for(principal)
        bucket = principal.rate_limit_key
        if await self._limiter.hit(item, bucket):
            return None
        stats = await self._limiter.get_window_stats(item, bucket)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        per = f"{item.amount} per {item.multiples} {item.GRANULARITY.name}"
        return problem_response(
            429,
            "rate-limited",
            f"Too many requests: the limit is {per}. Try again in {wait} s.",
            instance=instance,
            headers={
                "retry-after": str(wait),
                "ratelimit-limit": str(item.amount),
                "ratelimit-remaining": str(max(0, stats.remaining)),
                "ratelimit-reset": str(wait),
                "ratelimit-policy": f"{item.amount};w={item.get_expiry()}",
            },
        )
