"""The commands the engagement use cases take: one typed, frozen value per use case that
creates or changes something, built by the HTTP edge from a validated body (or by an event
handler).

Updates carry ``changes``, the fields the caller set (a PATCH's explicit fields), with the
version they were based on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_engagement.domain.stages import LostReason, Stage

# --------------------------------------------------------------------------- follow-ups


@dataclass(frozen=True, kw_only=True)
class NewActionItem:
    action: str
    assignee_id: str | None = None  # None: the follower
    due_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class LogFollowUp:
    customer_id: uuid.UUID
    summary: str
    method: str
    feedback: str
    outcome: str = "continue"
    contact_id: uuid.UUID | None = None
    occurred_on: date | None = None  # None: today in the configured time zone
    next_follow_up_at: datetime | None = None
    follower_id: str | None = None  # None: the caller
    opportunity_id: uuid.UUID | None = None
    plan_task_id: uuid.UUID | None = None
    action_items: tuple[NewActionItem, ...] = field(default_factory=tuple)
    source: str = "manual"


@dataclass(frozen=True, kw_only=True)
class UpdateActionItem:
    item_id: uuid.UUID
    changes: Mapping[str, Any]  # action, assignee_id, due_on, done
    expected_version: int


@dataclass(frozen=True, kw_only=True)
class UpdateSettings:
    changes: Mapping[str, Any]  # reminder_hour, timezone, summary_min_length, cadence_days, …
    expected_version: int


# --------------------------------------------------------------------------- opportunities


@dataclass(frozen=True, kw_only=True)
class Competitor:
    name: str
    analysis: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateOpportunity:
    customer_id: uuid.UUID
    name: str
    expected_amount: Decimal
    expected_close_on: date | None = None
    stage: Stage = Stage.INITIAL_CONTACT
    probability: int | None = None  # None: the stage's default
    competitors: tuple[Competitor, ...] = ()
    strengths: str | None = None
    weaknesses: str | None = None
    owner_id: str | None = None  # None: the customer's owner
    evaluated_on: date | None = None
    note: str | None = None  # the first progress note; a default one otherwise


@dataclass(frozen=True, kw_only=True)
class UpdateOpportunity:
    opportunity_id: uuid.UUID
    changes: Mapping[str, Any]  # the fields the caller set, and only those
    expected_version: int


@dataclass(frozen=True, kw_only=True)
class MoveOpportunityStage:
    opportunity_id: uuid.UUID
    to: Stage
    note: str
    expected_version: int
    probability: int | None = None
    actual_amount: Decimal | None = None
    contract_number: str | None = None
    lost_reason: LostReason | None = None
    lost_detail: str | None = None
