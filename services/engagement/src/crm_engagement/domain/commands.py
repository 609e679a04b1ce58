"""The commands the engagement use cases take: one typed, frozen value per use case that
changes something, built by the HTTP edge from a validated body (or by an event handler).

Updates carry ``changes``, the fields the caller set (a PATCH's explicit fields), with the
version they were based on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from crm_engagement.domain.stages import LostReason, Stage


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
