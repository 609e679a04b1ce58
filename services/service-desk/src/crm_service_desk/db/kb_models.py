"""The knowledge base's tables: articles (question, answer, tags) and the record of each time
an article was used, from which "most used" is counted for any period.

Search must work for Chinese as well as English. PostgreSQL's text-search parser does not
segment Chinese (a whole run of characters becomes one token), so the question and the answer
each carry a GIN trigram index (``pg_trgm``): ``ILIKE '%phrase%'`` is answered from it for any
phrase of three characters or more, in any language. Tags are a JSON list (JSONB on
PostgreSQL) under a GIN index, so a tag filter (``tags @> '["打印机"]'``) is an index lookup
without a join. On SQLite the indexes are plain ones and the search a scan (correct, slower).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from crm_platform.db import UtcDateTime
from crm_service_desk.db.registry import ServiceDeskModel

# JSONB on PostgreSQL (containment, GIN), JSON text elsewhere.
TAGS_TYPE = JSON().with_variant(JSONB(), "postgresql")


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


def _trigram_index(name: str, column: str) -> Index:
    # Searched on every keystroke of a ticket form, written rarely: no GIN pending list
    # (scanned linearly by every query until a vacuum flushes it).
    return Index(
        name,
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        postgresql_with={"fastupdate": "off"},
    )


_article_version = Column("version", Integer, nullable=False, default=1)


class KbArticle(ServiceDeskModel, table=True):
    """A knowledge-base article (知识库): a question and its answer, tagged."""

    __tablename__ = "kb_article"
    __table_args__ = (
        _trigram_index("ix_kb_article_question_trgm", "question"),
        _trigram_index("ix_kb_article_answer_trgm", "answer"),
        Index(
            "ix_kb_article_tags",
            "tags",
            postgresql_using="gin",
            postgresql_ops={"tags": "jsonb_path_ops"},
        ),
        # Most used first (the all-time top, lists, a broad search's second group), read
        # backwards: published articles by use count, then id.
        Index("ix_kb_article_status_use_count", "status", "use_count", "id"),
    )
    __mapper_args__ = {"version_id_col": _article_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    question: str = Field(max_length=500)
    answer: str = Field(sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(TAGS_TYPE, nullable=False))
    status: str = Field(max_length=16)
    # Counted with each recorded use (``kb_article_use``), outside the version: using an
    # article is not an edit and must not make an editor's save conflict.
    use_count: int = Field(default=0)
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    updated_by: str = Field(max_length=64)
    updated_at: datetime = _timestamp()
    published_at: datetime | None = _timestamp(nullable=True)
    version: int = Field(default=1, sa_column=_article_version)


class KbArticleUse(ServiceDeskModel, table=True):
    """One use of an article (an agent answered with it). On a ticket it counts once: the
    unique (article, ticket) pair; uses without a ticket (NULL, never equal) all count."""

    __tablename__ = "kb_article_use"
    __table_args__ = (
        UniqueConstraint("article_id", "ticket_id", name="uq_kb_article_use_ticket"),
        # "Most used in the last N days": the period's uses, grouped by article.
        Index("ix_kb_article_use_used_at", "used_at", "article_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    article_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("kb_article.id", ondelete="CASCADE"), nullable=False)
    )
    ticket_id: uuid.UUID | None = None
    used_by: str = Field(max_length=64)
    used_at: datetime = _timestamp()
