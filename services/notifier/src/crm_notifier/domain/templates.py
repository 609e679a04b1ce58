"""Placeholder until the templates module lands (the lead's merge replaces this file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.domain.kinds import Kind


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


async def render(
    session: AsyncSession, kind: Kind, locale: str, facts: Mapping[str, Any]
) -> Rendered:
    return Rendered(str(facts.get("title") or kind.value), str(facts))
