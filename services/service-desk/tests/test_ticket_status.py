"""The ticket status machine, table-driven: every (status, action) pair and what it needs."""

import pytest

from crm_platform.errors import InvalidField
from crm_service_desk.domain.enums import TicketStatus
from crm_service_desk.domain.ticket_status import (
    ActionFacts,
    IllegalTicketAction,
    TicketAction,
    decide,
)

P, IP, R, C = (
    TicketStatus.PENDING_ASSIGNMENT,
    TicketStatus.IN_PROGRESS,
    TicketStatus.RESOLVED,
    TicketStatus.CLOSED,
)
A = TicketAction
FIXED = ActionFacts(resolution="更换电源后恢复")
WAITING = ActionFacts(waiting=True)

# (status, action, facts, the status after it or the error raised)
CASES = [
    (P, A.ASSIGN, ActionFacts(), IP),
    (IP, A.ASSIGN, ActionFacts(), IP),  # reassigned
    (R, A.ASSIGN, ActionFacts(), IllegalTicketAction),
    (C, A.ASSIGN, ActionFacts(), IllegalTicketAction),
    (P, A.LOG, ActionFacts(), P),
    (IP, A.LOG, ActionFacts(), IP),
    (R, A.LOG, ActionFacts(), R),
    (C, A.LOG, ActionFacts(), IllegalTicketAction),  # a closed ticket is final
    (IP, A.WAIT, ActionFacts(), IP),
    (IP, A.WAIT, WAITING, IllegalTicketAction),  # already waiting
    (P, A.WAIT, ActionFacts(), IllegalTicketAction),
    (R, A.WAIT, ActionFacts(), IllegalTicketAction),
    (C, A.WAIT, ActionFacts(), IllegalTicketAction),
    (IP, A.RESUME, WAITING, IP),
    (IP, A.RESUME, ActionFacts(), IllegalTicketAction),  # not waiting
    (P, A.RESUME, WAITING, IllegalTicketAction),
    (R, A.RESUME, WAITING, IllegalTicketAction),
    (C, A.RESUME, WAITING, IllegalTicketAction),
    (IP, A.RESOLVE, FIXED, R),
    (IP, A.RESOLVE, ActionFacts(resolution="   "), InvalidField),  # a resolution is required
    (IP, A.RESOLVE, ActionFacts(), InvalidField),
    (P, A.RESOLVE, FIXED, IllegalTicketAction),  # assign it first
    (R, A.RESOLVE, FIXED, IllegalTicketAction),
    (C, A.RESOLVE, FIXED, IllegalTicketAction),
    (R, A.CLOSE, ActionFacts(), C),
    (P, A.CLOSE, ActionFacts(), IllegalTicketAction),
    (IP, A.CLOSE, ActionFacts(), IllegalTicketAction),
    (C, A.CLOSE, ActionFacts(), IllegalTicketAction),
    (R, A.REOPEN, ActionFacts(), IP),
    (C, A.REOPEN, ActionFacts(), IllegalTicketAction),  # a new problem is a new ticket
    (IP, A.REOPEN, ActionFacts(), IllegalTicketAction),
    (P, A.REOPEN, ActionFacts(), IllegalTicketAction),
]


@pytest.mark.parametrize(("status", "action", "facts", "expected"), CASES)
def test_decide(status, action, facts, expected) -> None:
    if isinstance(expected, type) and issubclass(expected, Exception):
        with pytest.raises(expected):
            decide(status, action, facts)
    else:
        assert decide(status, action, facts) is expected


def test_every_pair_is_in_the_table() -> None:
    covered = {(status, action) for status, action, _, _ in CASES}
    assert covered == {(s, a) for s in TicketStatus for a in TicketAction}


def test_a_refusal_says_why() -> None:
    with pytest.raises(IllegalTicketAction) as refused:
        decide(C, A.REOPEN)
    assert "open a new ticket" in refused.value.detail
