"""What every use case needs to know about the request (or event, or timer round) it serves
(``crm_platform.context``), with this service's settings."""

from crm_notifier.settings import Settings
from crm_platform.context import ServiceContext, system_context

RequestContext = ServiceContext[Settings]

__all__ = ["RequestContext", "system_context"]
