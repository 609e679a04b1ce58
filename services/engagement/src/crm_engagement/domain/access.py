"""Who may see and change which opportunities (SPEC §5 roles), decided from the internal token.

A sales rep works the opportunities of the customers they own (the customer replica's
``owner_id``); another rep's opportunity does not exist for them (404). Sales managers and
admins work all of them; service staff and viewers read them.
"""

from crm_platform.errors import Forbidden, NotFound
from crm_platform.identity import SYSTEM_ROLE, Identity

ADMIN = "admin"
SALES_MANAGER = "sales_manager"
SALES_REP = "sales_rep"
SERVICE_SUPERVISOR = "service_supervisor"
SERVICE_AGENT = "service_agent"
VIEWER = "viewer"

READ_ALL = {ADMIN, SALES_MANAGER, SERVICE_SUPERVISOR, SERVICE_AGENT, VIEWER, SYSTEM_ROLE}
WRITE_ALL = {ADMIN, SALES_MANAGER, SYSTEM_ROLE}
WRITE_OWN = {SALES_REP}
REOPENERS = {ADMIN, SALES_MANAGER, SYSTEM_ROLE}


def customer_owner_scope(identity: Identity) -> str | None:
    """The only customer owner whose records ``identity`` may see, or None for all."""
    if identity.roles & READ_ALL:
        return None
    if identity.roles & WRITE_OWN:
        return identity.subject
    raise Forbidden("Your role does not give access to opportunities.")


def can_write_any(identity: Identity) -> bool:
    return bool(identity.roles & WRITE_ALL)


def ensure_can_write(identity: Identity, customer_owner_id: str, ref: object) -> None:
    """Reps write only their own customers' opportunities; another rep's is not found."""
    if can_write_any(identity):
        return
    if identity.roles & WRITE_OWN:
        if customer_owner_id != identity.subject:
            raise NotFound(f"No opportunity {ref}.")
        return
    raise Forbidden("Your role can read opportunities but not change them.")


def ensure_can_assign(identity: Identity, owner_id: str) -> None:
    """Only managers hand an opportunity to someone other than themselves."""
    if can_write_any(identity) or owner_id == identity.subject:
        return
    raise Forbidden("A sales rep cannot make another person the owner of an opportunity.")


def may_reopen(identity: Identity) -> bool:
    return bool(identity.roles & REOPENERS)


def analytics_owner(identity: Identity, requested: str | None) -> str | None:
    """The owner analytics are scoped to: a rep sees only their own figures."""
    if identity.roles & READ_ALL:
        return requested
    if identity.roles & WRITE_OWN:
        if requested is not None and requested != identity.subject:
            raise Forbidden("A sales rep sees only their own pipeline analytics.")
        return identity.subject
    raise Forbidden("Your role does not give access to analytics.")
