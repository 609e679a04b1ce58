"""Who may see and change which engagement records (SPEC §5 roles), decided from the internal
token and the customer replica's owner.

A sales rep works the follow-ups, action items and opportunities of the customers they own;
another rep's customer, and what hangs on it, does not exist for them (404). Sales managers
and admins work all of them; service staff and viewers read them.
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
SETTINGS_ADMINS = {ADMIN, SYSTEM_ROLE}
REOPENERS = {ADMIN, SALES_MANAGER, SYSTEM_ROLE}


def owner_scope(identity: Identity) -> str | None:
    """The only customer owner whose records ``identity`` may see, or None for all."""
    if identity.roles & (READ_ALL | WRITE_ALL):
        return None
    if identity.roles & WRITE_OWN:
        return identity.subject
    raise Forbidden("Your role does not give access to engagement records.")


def can_write_any(identity: Identity) -> bool:
    return bool(identity.roles & WRITE_ALL)


def ensure_can_read(identity: Identity, owner_id: str, customer_ref: object) -> None:
    scope = owner_scope(identity)
    if scope is not None and scope != owner_id:
        raise NotFound(f"No customer {customer_ref}.")


def ensure_can_write(
    identity: Identity, owner_id: str, ref: object, *, what: str = "customer"
) -> None:
    """Reps write only their own customers' records; another rep's is not found. ``what``
    names the record in that 404 (``No opportunity …``)."""
    if can_write_any(identity):
        return
    if identity.roles & WRITE_OWN:
        if owner_id != identity.subject:
            raise NotFound(f"No {what} {ref}.")
        return
    if identity.roles & READ_ALL:
        raise Forbidden("Your role can read engagement records but not log or change them.")
    raise Forbidden("Your role does not give access to engagement records.")


def ensure_can_assign(identity: Identity, owner_id: str) -> None:
    """Only managers hand an opportunity to someone other than themselves."""
    if can_write_any(identity) or owner_id == identity.subject:
        return
    raise Forbidden("A sales rep cannot make another person the owner of an opportunity.")


def may_reopen(identity: Identity) -> bool:
    return bool(identity.roles & REOPENERS)


def ensure_settings_admin(identity: Identity) -> None:
    if not identity.roles & SETTINGS_ADMINS:
        raise Forbidden("Only an admin may change the engagement settings.")


def analytics_owner(identity: Identity, requested: str | None) -> str | None:
    """The owner analytics are scoped to: a rep sees only their own figures."""
    if identity.roles & READ_ALL:
        return requested
    if identity.roles & WRITE_OWN:
        if requested is not None and requested != identity.subject:
            raise Forbidden("A sales rep sees only their own analytics.")
        return identity.subject
    raise Forbidden("Your role does not give access to analytics.")
