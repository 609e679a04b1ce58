"""Events the engagement service publishes, and their payloads (owned here)."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from crm_platform.events import PublishedEvents

SERVICE = "engagement"

FOLLOWUP_LOGGED = "followup.logged"
REMINDER_DUE = "reminder.due"


class FollowUpLogged(BaseModel):
    """A follow-up was logged (customers reads ``customer_id`` and ``feedback``)."""

    id: str
    customer_id: str
    contact_id: str | None = None
    occurred_on: date
    method: str
    feedback: str
    outcome: str
    follower_id: str
    next_follow_up_at: datetime | None = None
    opportunity_id: str | None = None
    plan_task_id: str | None = None
    source: str


class ReminderDue(BaseModel):
    """A reminder's time came: the notifier tells ``recipient_id``. ``late`` when it fired
    long after its time (the scheduler was down)."""

    id: str
    kind: str
    recipient_id: str
    customer_id: str | None = None
    subject_id: str | None = None
    title: str
    due_on: date | None = None
    due_at: datetime
    fired_at: datetime
    late: bool


OPPORTUNITY_CREATED = "opportunity.created"
OPPORTUNITY_STAGE_CHANGED = "opportunity.stage_changed"
OPPORTUNITY_WON = "opportunity.won"
OPPORTUNITY_LOST = "opportunity.lost"


class OpportunitySnapshot(BaseModel):
    """An opportunity as it stands after the change (event-carried state)."""

    id: str
    code: str
    customer_id: str
    name: str
    expected_amount: Decimal
    expected_close_on: date | None = None
    stage: str
    probability: int
    owner_id: str
    actual_amount: Decimal | None = None
    contract_number: str | None = None
    lost_reason: str | None = None
    created_at: datetime
    closed_at: datetime | None = None
    version: int


class StageChanged(BaseModel):
    opportunity: OpportunitySnapshot
    from_stage: str
    to_stage: str
    note: str
    changed_by: str
    changed_at: datetime


class OpportunityWon(BaseModel):
    """Customers reads ``id`` and ``customer_id`` (lifecycle automation: the customer is won)."""

    id: str
    customer_id: str
    code: str
    owner_id: str
    actual_amount: Decimal
    contract_number: str
    won_at: datetime


class OpportunityLost(BaseModel):
    id: str
    customer_id: str
    code: str
    owner_id: str
    lost_reason: str
    lost_detail: str | None = None
    lost_at: datetime


PAYLOADS: dict[str, type[BaseModel]] = {
    FOLLOWUP_LOGGED: FollowUpLogged,
    REMINDER_DUE: ReminderDue,
    OPPORTUNITY_CREATED: OpportunitySnapshot,
    OPPORTUNITY_STAGE_CHANGED: StageChanged,
    OPPORTUNITY_WON: OpportunityWon,
    OPPORTUNITY_LOST: OpportunityLost,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED = PublishedEvents(SERVICE, PAYLOADS)
PUBLISHED_TYPES = PUBLISHED.types
build_event = PUBLISHED.build


def reminder_due_bodies(
    fired: Sequence[Any], fired_at: datetime
) -> list[tuple[uuid.UUID, str, str]]:
    """``build_event(REMINDER_DUE, ReminderDue(...))`` for many fired reminders at once
    (``PublishedEvents.serialized``; a test compares the two). ``fired`` rows have the fields
    of ``ReminderDue`` but ``fired_at``."""
    return PUBLISHED.serialized(
        REMINDER_DUE,
        (
            (
                str(row.id),
                {
                    "id": str(row.id),
                    "kind": row.kind,
                    "recipient_id": row.recipient_id,
                    "customer_id": str(row.customer_id) if row.customer_id else None,
                    "subject_id": str(row.subject_id) if row.subject_id else None,
                    "title": row.title,
                    "due_on": row.due_on,
                    "due_at": row.due_at,
                    "fired_at": fired_at,
                    "late": row.late,
                },
            )
            for row in fired
        ),
        actor="system",
    )
