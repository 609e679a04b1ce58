"""Who may see and work which service-desk records (SPEC §3, §5), decided from the internal
token and, for sales staff, the customer replica's owner.

Service staff (agents and supervisors) and admins see and work every ticket; a sales rep reads
and opens tickets only for the customers they own (another rep's ticket does not exist for
them: 404); a sales manager and a viewer read all. Supervisors (and admins) assign, configure
SLA calendars, targets, teams and agents; agents handle tickets; the knowledge base is written
by service staff and read by everybody.
"""

from crm_platform.errors import Forbidden
from crm_platform.identity import SYSTEM_ROLE, Identity

ADMIN = "admin"
SALES_MANAGER = "sales_manager"
SALES_REP = "sales_rep"
SERVICE_SUPERVISOR = "service_supervisor"
SERVICE_AGENT = "service_agent"
VIEWER = "viewer"

SERVICE_STAFF = frozenset({ADMIN, SERVICE_SUPERVISOR, SERVICE_AGENT, SYSTEM_ROLE})
SUPERVISORS = frozenset({ADMIN, SERVICE_SUPERVISOR, SYSTEM_ROLE})
READ_ALL = SERVICE_STAFF | {SALES_MANAGER, VIEWER}
OPEN_OWN = frozenset({SALES_REP})
OPENERS = SERVICE_STAFF | {SALES_MANAGER, SALES_REP}


def ticket_owner_scope(identity: Identity) -> str | None:
    """The only customer owner whose tickets ``identity`` may see, or None for all."""
    if identity.roles & READ_ALL:
        return None
    if identity.roles & OPEN_OWN:
        return identity.subject
    raise Forbidden("Your role does not give access to tickets.")


def is_service_staff(identity: Identity) -> bool:
    return bool(identity.roles & SERVICE_STAFF)


def is_supervisor(identity: Identity) -> bool:
    return bool(identity.roles & SUPERVISORS)


def ensure_can_open(identity: Identity) -> None:
    if not identity.roles & OPENERS:
        raise Forbidden("Your role may read tickets but not open them.")


def ensure_service_staff(identity: Identity, doing: str = "work tickets") -> None:
    if not is_service_staff(identity):
        raise Forbidden(f"Only service agents and supervisors {doing}.")


def ensure_supervisor(identity: Identity, doing: str) -> None:
    if not is_supervisor(identity):
        raise Forbidden(f"Only a service supervisor or an admin may {doing}.")


def ensure_kb_reader(identity: Identity) -> None:
    if not identity.roles & (READ_ALL | OPEN_OWN):
        raise Forbidden("Your role does not give access to the knowledge base.")


def ensure_kb_writer(identity: Identity) -> None:
    ensure_service_staff(identity, "write knowledge-base articles")
