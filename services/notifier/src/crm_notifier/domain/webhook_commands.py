"""What the partner-webhook use cases are asked to do, already shaped by the HTTP edge."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class CreateSubscription:
    partner: str
    url: str
    event_types: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class UpdateSubscription:
    subscription_id: uuid.UUID
    changes: Mapping[str, Any]  # url, event_types, active: the fields the caller set, only those
    expected_version: int


@dataclass(frozen=True, kw_only=True)
class ReplayDelivery:
    subscription_id: uuid.UUID
    delivery_id: uuid.UUID
