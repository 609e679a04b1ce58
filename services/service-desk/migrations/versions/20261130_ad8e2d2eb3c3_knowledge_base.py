"""knowledge base: articles with trigram and tag indexes, article uses

``kb_article`` holds question, answer and tags (JSONB on PostgreSQL); ``kb_article_use`` one
row per use (unique per article and ticket) so "most used" can be counted for a period. The
platform's ``idempotency_record`` comes from ``dc17227275d2``.

PostgreSQL only: the ``pg_trgm`` extension (the migrating role needs the right to create it,
or a DBA creates it beforehand), GIN trigram indexes on question and answer (what makes
``ILIKE '%短语%'`` an index lookup: the default text-search parser does not segment Chinese)
and a GIN index on the tags, all without a pending list. Trigrams of Chinese characters need
a database whose ``LC_CTYPE`` classifies them as letters (``C.UTF-8`` on glibc 2.35+,
``zh_CN.UTF-8``, ``en_US.UTF-8``); under ``C`` pg_trgm drops them and every Chinese search
reads the whole index (still correct). SQLite gets the tables and the btree indexes.

Revision ID: ad8e2d2eb3c3
Revises: dc17227275d2
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ad8e2d2eb3c3"
down_revision: str | None = "dc17227275d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAGS_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "kb_article",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("tags", TAGS_TYPE, nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_kb_article_status_use_count",
        "kb_article",
        ["status", "use_count", "id"],
        unique=False,
    )
    op.create_table(
        "kb_article_use",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("used_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "ticket_id", name="uq_kb_article_use_ticket"),
    )
    op.create_index(
        "ix_kb_article_use_used_at", "kb_article_use", ["used_at", "article_id"], unique=False
    )
    if not postgres:
        return
    for column in ("question", "answer"):
        op.create_index(
            f"ix_kb_article_{column}_trgm",
            "kb_article",
            [column],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},
        )
    op.create_index(
        "ix_kb_article_tags",
        "kb_article",
        ["tags"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"tags": "jsonb_path_ops"},
    )


def downgrade() -> None:
    # The pg_trgm extension stays: other objects of the database may use it.
    op.drop_index("ix_kb_article_use_used_at", table_name="kb_article_use")
    op.drop_table("kb_article_use")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_kb_article_tags", table_name="kb_article")
        op.drop_index("ix_kb_article_answer_trgm", table_name="kb_article")
        op.drop_index("ix_kb_article_question_trgm", table_name="kb_article")
    op.drop_index("ix_kb_article_status_use_count", table_name="kb_article")
    op.drop_table("kb_article")
