"""Request and response bodies of the engagement API (follow-ups, action items, reminders,
plans, settings), with the field-level validation."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from crm_engagement.db.followup_models import ActionItem, PlanTask, Reminder
from crm_engagement.domain.commands import LogFollowUp, NewActionItem
from crm_engagement.domain.enums import Feedback, Outcome
from crm_engagement.domain.followup_analytics import FollowUpAnalytics
from crm_engagement.domain.followups import FollowUpView
from crm_platform.http.patch import Clearable, PatchBody

UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ActionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MethodIn(StrEnum):
    """How a person followed up (``system`` is the service's own, never sent)."""

    PHONE = "phone"
    VISIT = "visit"
    EMAIL = "email"
    WECHAT = "wechat"
    MEETING = "meeting"
    SMS = "sms"


class ActionItemIn(Strict):
    action: ActionText
    assignee_id: UserId | None = Field(default=None, description="Defaults to the follower")
    due_on: date | None = None

    def command(self) -> NewActionItem:
        return NewActionItem(action=self.action, assignee_id=self.assignee_id, due_on=self.due_on)


class FollowUpCreate(Strict):
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None = None
    occurred_on: date | None = Field(default=None, description="Defaults to today (CRM_TIMEZONE)")
    method: MethodIn
    summary: Summary = Field(description="What was discussed; at least the configured length")
    feedback: Feedback
    outcome: Outcome = Outcome.CONTINUE
    next_follow_up_at: AwareDatetime | None = Field(default=None, description="Not in the past")
    follower_id: UserId | None = Field(default=None, description="Defaults to the caller")
    opportunity_id: uuid.UUID | None = None
    plan_task_id: uuid.UUID | None = Field(
        default=None, description="The maintenance-plan task this follow-up completes"
    )
    action_items: list[ActionItemIn] = Field(default_factory=list, max_length=20)

    def command(self) -> LogFollowUp:
        return LogFollowUp(
            customer_id=self.customer_id,
            contact_id=self.contact_id,
            occurred_on=self.occurred_on,
            method=self.method.value,
            summary=self.summary,
            feedback=self.feedback.value,
            outcome=self.outcome.value,
            next_follow_up_at=self.next_follow_up_at,
            follower_id=self.follower_id,
            opportunity_id=self.opportunity_id,
            plan_task_id=self.plan_task_id,
            action_items=tuple(item.command() for item in self.action_items),
        )


class ActionItemOut(BaseModel):
    id: uuid.UUID
    followup_id: uuid.UUID
    customer_id: uuid.UUID
    action: str
    assignee_id: str
    due_on: date | None
    done: bool
    done_at: datetime | None
    version: int

    @classmethod
    def of(cls, item: ActionItem) -> "ActionItemOut":
        return cls.model_validate(item, from_attributes=True)


class FollowUpOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None
    occurred_on: date
    method: str
    summary: str
    feedback: str
    outcome: str
    next_follow_up_at: datetime | None
    follower_id: str
    follower_name: str | None
    opportunity_id: uuid.UUID | None
    plan_task_id: uuid.UUID | None
    source: str
    created_by: str
    created_at: datetime
    action_items: list[ActionItemOut]

    @classmethod
    def of(cls, view: FollowUpView) -> "FollowUpOut":
        f = view.followup
        return cls(
            id=f.id,
            customer_id=f.customer_id,
            contact_id=f.contact_id,
            occurred_on=f.occurred_on,
            method=f.method,
            summary=f.summary,
            feedback=f.feedback,
            outcome=f.outcome,
            next_follow_up_at=f.next_follow_up_at,
            follower_id=f.follower_id,
            follower_name=view.follower_name,
            opportunity_id=f.opportunity_id,
            plan_task_id=f.plan_task_id,
            source=f.source,
            created_by=f.created_by,
            created_at=f.created_at,
            action_items=[ActionItemOut.of(i) for i in view.action_items],
        )


class Page(BaseModel):
    total: int
    page: int
    page_size: int


class FollowUpPageOut(Page):
    items: list[FollowUpOut]


class ActionItemPageOut(Page):
    items: list[ActionItemOut]


class ActionItemPatch(PatchBody):
    version: int | None = Field(default=None, ge=1, description="Or send If-Match")
    action: ActionText | None = None
    assignee_id: UserId | None = None
    due_on: Annotated[date | None, Clearable] = None
    done: bool | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class ReminderOut(BaseModel):
    id: uuid.UUID
    kind: str
    recipient_id: str
    customer_id: uuid.UUID | None
    subject_id: uuid.UUID | None
    title: str
    due_on: date | None
    due_at: datetime
    fired_at: datetime | None
    late: bool

    @classmethod
    def of(cls, reminder: Reminder) -> "ReminderOut":
        return cls.model_validate(reminder, from_attributes=True)


class ReminderPageOut(Page):
    items: list[ReminderOut]


class PlanTaskOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: str
    grade: str
    kind: str
    due_on: date
    status: str
    followup_id: uuid.UUID | None
    completed_at: datetime | None

    @classmethod
    def of(cls, task: PlanTask) -> "PlanTaskOut":
        return cls.model_validate(task, from_attributes=True)


class PlanTaskPageOut(Page):
    items: list[PlanTaskOut]


class OverdueOut(BaseModel):
    customer_id: uuid.UUID
    code: str
    name: str
    owner_id: str
    grade: str
    last_follow_up_on: date | None
    overdue_since: date
    days_overdue: int


class OverduePageOut(Page):
    items: list[OverdueOut]


CadenceDays = Annotated[int, Field(ge=1, le=366)]


class PlanItemIn(Strict):
    touch: Annotated[str, StringConstraints(pattern=r"^(call|visit|gift|greeting)$")]
    every_months: Annotated[int, Field(ge=1, le=24)] | None = None
    on: list[Annotated[str, StringConstraints(pattern=r"^\d{2}-\d{2}$")]] | None = Field(
        default=None, max_length=24, description="MM-DD dates, e.g. 10-01"
    )


class CadenceIn(Strict):
    A: CadenceDays | None = None
    B: CadenceDays | None = None
    C: CadenceDays | None = None


class TemplatesIn(Strict):
    A: list[PlanItemIn] | None = Field(default=None, max_length=12)
    B: list[PlanItemIn] | None = Field(default=None, max_length=12)
    C: list[PlanItemIn] | None = Field(default=None, max_length=12)


class SettingsPatch(PatchBody):
    version: int | None = Field(default=None, ge=0, description="Or send If-Match; 0 at first")
    reminder_hour: Annotated[int, Field(ge=0, le=23)] | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    summary_min_length: Annotated[int, Field(ge=1, le=500)] | None = None
    cadence_days: CadenceIn | None = None
    plan_templates: TemplatesIn | None = None

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True, exclude={"version"})
        if "cadence_days" in data:
            data["cadence_days"] = {g: d for g, d in data["cadence_days"].items() if d is not None}
        if "plan_templates" in data:
            data["plan_templates"] = {
                g: [{k: v for k, v in item.items() if v is not None} for item in items]
                for g, items in data["plan_templates"].items()
                if items is not None
            }
        return data


class SettingsOut(BaseModel):
    version: int
    reminder_hour: int
    timezone: str
    summary_min_length: int
    cadence_days: dict[str, int]
    plan_templates: dict[str, Any]
    plan_horizon_months: int
    first_follow_up_hours: int
    updated_by: str | None
    updated_at: datetime | None


class PersonFigureOut(BaseModel):
    follower_id: str
    display_name: str | None = Field(description="From the user replica; null when unknown")
    count: int


class FollowUpAnalyticsOut(BaseModel):
    """Figures of the people's follow-ups (system ones only in ``system_count``)."""

    follower_id: str | None
    date_from: date | None
    date_to: date | None
    total: int = Field(description="Follow-ups made by people in the selection")
    by_method: dict[str, int] = Field(description="Every method a person uses, 0 when none")
    by_person: list[PersonFigureOut] = Field(description="Per follower, most follow-ups first")
    by_feedback: dict[str, int]
    by_outcome: dict[str, int]
    customers_followed_up: int = Field(description="Distinct customers with a follow-up")
    customers_with_repeat: int = Field(description="Customers with two or more follow-ups")
    gaps: int = Field(description="Consecutive pairs of one customer's follow-ups")
    average_days_between: Decimal | None = Field(
        description="Σ days between consecutive follow-ups / gaps, 2 places; null with no gap"
    )
    system_count: int = Field(description="System follow-ups (resolved complaints), apart")

    @classmethod
    def of(cls, figures: FollowUpAnalytics) -> "FollowUpAnalyticsOut":
        return cls(
            **{
                **figures.__dict__,
                "by_person": [PersonFigureOut(**p.__dict__) for p in figures.by_person],
            }
        )
