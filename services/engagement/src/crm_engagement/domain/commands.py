"""The commands the engagement use cases take: one typed, frozen value per use case that
creates or changes something, built by the HTTP edge from a validated body (or by an event
handler)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


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
