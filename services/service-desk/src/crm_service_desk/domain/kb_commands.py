"""The commands of the knowledge base's use cases: one typed, frozen value per use case that
creates or changes something, built by the HTTP edge from a validated body. (Kept apart from
the tickets' commands so the two areas grow without touching one file.)"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class CreateKbArticle:
    question: str
    answer: str
    tags: tuple[str, ...] = field(default_factory=tuple)
    status: str = "draft"


@dataclass(frozen=True, kw_only=True)
class UpdateKbArticle:
    article_id: uuid.UUID
    changes: Mapping[str, Any]  # question, answer, tags, status
    expected_version: int


@dataclass(frozen=True, kw_only=True)
class RecordKbUse:
    article_id: uuid.UUID
    ticket_id: uuid.UUID | None = None
