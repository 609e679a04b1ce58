"""a fresh installation knows the source documents' tags; imports record the tags they create

The tags the source documents name (高预算, 决策周期短, 竞品客户, 转介绍客户, 战略合作伙伴,
高潜力客户) are seeded, so a rep's sheet using them imports on a new installation. An
installation that already has a tag of one of these names keeps its own. ``customer_import``
gains ``new_tags``: the tags an admin's import created (or, a dry run, would create) with
``create_missing_tags``.

Revision ID: b4c8e2f61a07
Revises: 7a2e4c1b9d58
Create Date: 2026-11-30 06:30:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "b4c8e2f61a07"
down_revision: str | None = "7a2e4c1b9d58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAGS = [
    ("高预算", "High budget"),
    ("决策周期短", "Short decision cycle"),
    ("竞品客户", "Competitor's customer"),
    ("转介绍客户", "Referred customer"),
    ("战略合作伙伴", "Strategic partner"),
    ("高潜力客户", "High potential"),
]


def _seed_id(name: str) -> uuid.UUID:
    """The same id on every installation, so the downgrade removes only what it seeded."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:crm:customers:tag:{name}")


_tag = sa.table(
    "tag",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("name_en", sa.String()),
    sa.column("active", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_customer_tag = sa.table("customer_tag", sa.column("tag_id", sa.Uuid()))


def upgrade() -> None:
    with op.batch_alter_table("customer_import", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_tags", sa.JSON(), nullable=True))

    existing = set(op.get_bind().execute(sa.select(_tag.c.name)).scalars())
    now = datetime.now(UTC)
    rows = [
        {"id": _seed_id(name), "name": name, "name_en": en, "active": True, "created_at": now}
        for name, en in TAGS
        if name not in existing
    ]
    if rows:
        op.bulk_insert(_tag, rows)


def downgrade() -> None:
    seeded = [_seed_id(name) for name, _ in TAGS]
    in_use = sa.select(_customer_tag.c.tag_id)
    op.execute(_tag.delete().where(_tag.c.id.in_(seeded), _tag.c.id.not_in(in_use)))
    with op.batch_alter_table("customer_import", schema=None) as batch_op:
        batch_op.drop_column("new_tags")
