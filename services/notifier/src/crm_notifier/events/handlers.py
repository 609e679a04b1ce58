"""Events the notifier consumes.

``customer.created`` has no notification yet; handling it records the event in the inbox,
which proves the path end to end and is where welcome/assignment notices will hook in.
"""

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.events import CloudEvent

log = logging.getLogger(__name__)


async def on_customer_created(session: AsyncSession, event: CloudEvent) -> None:
    log.debug("customer %s created; nothing to notify yet", event.subject)


HANDLERS = {"customer.created": on_customer_created}
