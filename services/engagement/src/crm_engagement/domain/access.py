"""Who may see and log which follow-ups (SPEC §5 roles), decided from the internal token and
the customer replica's owner: a rep works only their own customers' follow-ups, and another
rep's customer does not exist for them (404); managers and admins work all; viewers read."""

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


def owner_scope(identity: Identity) -> str | None:
    """The only owner whose customers' records ``identity`` may see, or None for all."""
    if identity.roles & (READ_ALL | WRITE_ALL):
        return None
    if identity.roles & WRITE_OWN:
        return identity.subject
    raise Forbidden("Your role does not give access to follow-ups.")


def ensure_can_read(identity: Identity, owner_id: str, customer_ref: object) -> None:
    scope = owner_scope(identity)
    if scope is not None and scope != owner_id:
        raise NotFound(f"No customer {customer_ref}.")


def ensure_can_write(identity: Identity, owner_id: str, customer_ref: object) -> None:
    if identity.roles & WRITE_ALL:
        return
    if identity.roles & WRITE_OWN:
        if owner_id != identity.subject:
            raise NotFound(f"No customer {customer_ref}.")
        return
    if identity.roles & READ_ALL:
        raise Forbidden("Your role can read follow-ups but not log or change them.")
    raise Forbidden("Your role does not give access to follow-ups.")


def ensure_settings_admin(identity: Identity) -> None:
    if not identity.roles & SETTINGS_ADMINS:
        raise Forbidden("Only an admin may change the engagement settings.")


def ensure_manager(identity: Identity) -> None:
    if not identity.roles & WRITE_ALL:
        raise Forbidden("Only a sales manager or an admin may do this.")
