"""Tables of follow-ups, action items, reminders, maintenance-plan tasks, the rules an admin
sets, and the people this service knows (from the gateway's user events)."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, false, text
from sqlmodel import Field

from crm_engagement.db.registry import EngagementModel
from crm_platform.db import UtcDateTime


def _moment(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


class FollowUp(EngagementModel, table=True):
    """One follow-up (跟进记录) of a customer; a record of what happened, never edited."""

    __tablename__ = "followup"
    __table_args__ = (
        Index("ix_followup_customer_occurred", "customer_id", "occurred_on", "created_at"),
        # The follow-up analytics: a period for everyone, or one follower's period.
        Index("ix_followup_occurred_on", "occurred_on"),
        Index("ix_followup_follower_occurred", "follower_id", "occurred_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None = None
    occurred_on: date
    method: str = Field(max_length=16)
    summary: str = Field(sa_column=Column(Text(), nullable=False))
    feedback: str = Field(max_length=16)
    next_follow_up_at: datetime | None = _moment(nullable=True)
    follower_id: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    opportunity_id: uuid.UUID | None = Field(default=None, index=True)
    plan_task_id: uuid.UUID | None = None
    # "manual" (a person logged it) or "system" (e.g. a resolved complaint)
    source: str = Field(default="manual", max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = _moment()


class ActionItem(EngagementModel, table=True):
    """下一步计划 / 责任人 / 完成时限 of a follow-up."""

    __tablename__ = "action_item"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    followup_id: uuid.UUID = Field(foreign_key="followup.id", index=True)
    customer_id: uuid.UUID = Field(index=True)
    action: str = Field(max_length=500)
    assignee_id: str = Field(max_length=64, index=True)
    due_on: date | None = None
    done: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    done_at: datetime | None = _moment(nullable=True)
    version: int = 1
    created_at: datetime = _moment()


class CustomerActivity(EngagementModel, table=True):
    """Per customer: since when this service knows it and its last follow-up (cadence)."""

    __tablename__ = "customer_activity"

    customer_id: uuid.UUID = Field(primary_key=True)
    since_on: date
    last_follow_up_on: date | None = None


_PENDING: dict[str, Any] = {
    "postgresql_where": text("fired_at IS NULL AND cancelled_at IS NULL"),
    "sqlite_where": text("fired_at IS NULL AND cancelled_at IS NULL"),
}


class Reminder(EngagementModel, table=True):
    """One scheduled reminder. ``dedupe_key`` makes each one exist once (a follow-up's next
    date, an action item, a cadence period, a plan task); ``fired_at`` is set in the same
    transaction that stages its ``reminder.due`` event, so it fires exactly once."""

    __tablename__ = "reminder"
    # Every reminder is updated once (fired or cancelled), so the indexes the scheduler and
    # the cancellations read hold only the pending ones: a firing writes no entry into them,
    # and the claim reads only what it takes. (The migration also leaves a tenth of each
    # page free, fillfactor 90, so the fired version mostly stays on its page.)
    __table_args__ = (
        Index("ix_reminder_pending_due", "due_at", "id", **_PENDING),
        Index("ix_reminder_pending_customer", "customer_id", **_PENDING),
        Index("ix_reminder_pending_subject", "subject_id", **_PENDING),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=200, unique=True)
    due_on: date | None = None  # the local day it is about (due_at follows the reminder hour)
    due_at: datetime = _moment()
    recipient_id: str = Field(max_length=64, index=True)
    customer_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    title: str = Field(max_length=300)
    fired_at: datetime | None = _moment(nullable=True)
    late: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    cancelled_at: datetime | None = _moment(nullable=True)
    created_at: datetime = _moment()


class PlanTask(EngagementModel, table=True):
    """A dated touch of a customer's maintenance plan (维护计划)."""

    __tablename__ = "plan_task"
    __table_args__ = (Index("ix_plan_task_customer_status_due", "customer_id", "status", "due_on"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    customer_id: uuid.UUID
    owner_id: str = Field(max_length=64, index=True)
    grade: str = Field(max_length=4)
    kind: str = Field(max_length=16)  # call | visit | gift | greeting
    due_on: date
    status: str = Field(default="open", max_length=16)  # open | done | cancelled
    followup_id: uuid.UUID | None = None
    completed_at: datetime | None = _moment(nullable=True)
    created_at: datetime = _moment()


class EngagementSettingsRow(EngagementModel, table=True):
    """The rules an admin set through the API (系统设置-提醒规则); a null column means the
    environment's default. One row (id 1), versioned."""

    __tablename__ = "engagement_settings"

    id: int = Field(default=1, primary_key=True)
    version: int = 1
    reminder_hour: int | None = None
    timezone: str | None = Field(default=None, max_length=64)
    summary_min_length: int | None = None
    cadence_days: dict[str, int] | None = Field(default=None, sa_column=Column(JSON()))
    plan_templates: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON()))
    updated_by: str | None = Field(default=None, max_length=64)
    updated_at: datetime | None = _moment(nullable=True)


class UserReplica(EngagementModel, table=True):
    """What this service knows of a user, from ``user.created/updated/disabled``."""

    __tablename__ = "user_replica"

    id: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    mobile: str | None = Field(default=None, max_length=32)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON(), nullable=False))
    team: str | None = Field(default=None, max_length=100)
    active: bool = True
    source_version: int = 0
    replicated_at: datetime = _moment()
