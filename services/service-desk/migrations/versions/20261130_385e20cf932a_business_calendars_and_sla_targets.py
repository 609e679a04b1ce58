"""business calendars and SLA targets, seeded

``business_calendar`` holds the calendars SLA clocks count business time in; the ``default``
one (24x7, Asia/Shanghai, with Mon-Fri 09:00-18:00 ready should an admin switch it to weekly
hours) is seeded. ``sla_target`` holds the rules (null priority or type: any), seeded with the
SPEC's defaults: default 1 h / 4 h / 72 h, high 15 min / 1 h / 24 h, medium - / 4 h / 72 h,
low - / 8 h / 120 h, complaint 10 min / 30 min / 24 h (assign / first response / resolve).
The values are written here, not imported, so the migration stays what it was.

Revision ID: 385e20cf932a
Revises: 9068fd1694c7
Create Date: 2026-11-30 12:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "385e20cf932a"
down_revision: str | None = "9068fd1694c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFICE_HOURS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
# (priority, ticket type, assign, first response, resolve), in minutes
TARGETS = [
    (None, None, 60, 240, 4320),
    ("high", None, 15, 60, 1440),
    ("medium", None, None, 240, 4320),
    ("low", None, None, 480, 7200),
    (None, "complaint", 10, 30, 1440),
]


def _seed_id(name: str) -> uuid.UUID:
    """The same id on every installation."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:crm:service-desk:{name}")


def upgrade() -> None:
    calendar = op.create_table(
        "business_calendar",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("weekly_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("extra_workdays", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    target = op.create_table(
        "sla_target",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("ticket_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("assign_minutes", sa.Integer(), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolve_minutes", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", name="uq_sla_target_scope"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        calendar,
        [
            {
                "id": _seed_id("calendar:default"),
                "key": "default",
                "name": "默认 (7x24)",
                "kind": "always",
                "timezone": "Asia/Shanghai",
                "weekly_hours": OFFICE_HOURS,
                "holidays": [],
                "extra_workdays": [],
                "version": 1,
                "updated_at": now,
                "updated_by": "system",
            }
        ],
    )
    op.bulk_insert(
        target,
        [
            {
                "id": _seed_id(f"sla-target:{scope}"),
                "scope": scope,
                "priority": priority,
                "ticket_type": ticket_type,
                "assign_minutes": assign,
                "first_response_minutes": first_response,
                "resolve_minutes": resolve,
                "updated_at": now,
                "updated_by": "system",
            }
            for priority, ticket_type, assign, first_response, resolve in TARGETS
            for scope in [f"{priority or '*'}/{ticket_type or '*'}"]
        ],
    )


def downgrade() -> None:
    op.drop_table("sla_target")
    op.drop_table("business_calendar")
