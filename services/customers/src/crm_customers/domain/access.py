"""Who may see and change which customers (SPEC §5 roles), decided from the internal token."""

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
APPROVERS = {ADMIN, SALES_MANAGER, SYSTEM_ROLE}
SETTINGS_ADMINS = {ADMIN, SYSTEM_ROLE}


def owner_scope(identity: Identity) -> str | None:
    """The only owner whose customers ``identity`` may see, or None for all."""
    if identity.roles & READ_ALL:
        return None
    if identity.roles & WRITE_OWN:
        return identity.subject
    raise Forbidden("Your role does not give access to customers.")


def can_write_any(identity: Identity) -> bool:
    return bool(identity.roles & WRITE_ALL)


def ensure_can_create(identity: Identity, owner_id: str) -> None:
    if can_write_any(identity):
        return
    if identity.roles & WRITE_OWN:
        if owner_id != identity.subject:
            raise Forbidden("A sales rep can only create customers they own.")
        return
    raise Forbidden("Your role cannot create customers.")


def ensure_can_write(identity: Identity, owner_id: str, customer_ref: object) -> None:
    """Reps write only their own customers; another rep's customer does not exist for them."""
    if can_write_any(identity):
        return
    if identity.roles & WRITE_OWN:
        if owner_id != identity.subject:
            raise NotFound(f"No customer {customer_ref}.")
        return
    raise Forbidden("Your role can read customers but not change them.")


def ensure_can_set_grade(identity: Identity, current: str | None, new: str | None) -> None:
    """SPEC §1: a grade comes from an evaluation or from a manager, never from a rep's edit."""
    if new != current and not can_write_any(identity):
        raise Forbidden(
            "A sales rep cannot set a grade by hand: evaluate the customer "
            "(POST /v1/customers/{id}/evaluations) or ask a sales manager."
        )


def ensure_approver(identity: Identity) -> None:
    if not identity.roles & APPROVERS:
        raise Forbidden("Only a sales manager or an admin may decide on this.")


def ensure_settings_admin(identity: Identity) -> None:
    if not identity.roles & SETTINGS_ADMINS:
        raise Forbidden("Only an admin may change these settings.")


def may_unmask(identity: Identity, unmask_roles: set[str]) -> bool:
    return bool(identity.roles & unmask_roles)
