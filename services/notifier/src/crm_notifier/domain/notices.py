"""Notices to the administrators about the notifier's own health (a partner webhook disabled
after sustained failure).

A stub for now: it logs at WARNING. The lead replaces its body with inbox notifications to
every admin; callers pass the session of the transaction that made the decision, so the
notice is written with it or not at all.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.domain.kinds import Kind

log = logging.getLogger(__name__)


async def notify_admins(session: AsyncSession, *, kind: Kind, facts: dict[str, Any]) -> None:
    log.warning("notice to admins: %s %s", kind.value, facts)
