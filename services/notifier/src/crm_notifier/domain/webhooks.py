"""Placeholder until the partner webhooks land (the lead's merge replaces this file)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.events import CloudEvent


async def fan_out(session: AsyncSession, event: CloudEvent) -> int:
    return 0
