"""Events the engagement service publishes, and their payloads (owned here)."""

from datetime import date, datetime

from pydantic import BaseModel

from crm_platform.events import CloudEvent

SERVICE = "engagement"

FOLLOWUP_LOGGED = "followup.logged"
REMINDER_DUE = "reminder.due"


class FollowUpLogged(BaseModel):
    """A follow-up was logged (customers reads ``customer_id`` and ``feedback``)."""

    id: str
    customer_id: str
    contact_id: str | None = None
    occurred_on: date
    method: str
    feedback: str
    outcome: str
    follower_id: str
    next_follow_up_at: datetime | None = None
    opportunity_id: str | None = None
    plan_task_id: str | None = None
    source: str


class ReminderDue(BaseModel):
    """A reminder's time came: the notifier tells ``recipient_id``. ``late`` when it fired
    long after its time (the scheduler was down)."""

    id: str
    kind: str
    recipient_id: str
    customer_id: str | None = None
    subject_id: str | None = None
    title: str
    due_on: date | None = None
    due_at: datetime
    fired_at: datetime
    late: bool


PAYLOADS: dict[str, type[BaseModel]] = {
    FOLLOWUP_LOGGED: FollowUpLogged,
    REMINDER_DUE: ReminderDue,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED_TYPES = list(PAYLOADS)


def build_event(
    routing_key: str,
    payload: BaseModel,
    *,
    subject: str,
    actor: str,
    causation_id: str | None = None,
) -> CloudEvent:
    if not isinstance(payload, PAYLOADS[routing_key]):
        raise TypeError(f"{routing_key} carries {PAYLOADS[routing_key].__name__}")
    return CloudEvent.new(
        service=SERVICE,
        routing_key=routing_key,
        subject=subject,
        data=payload.model_dump(mode="json"),
        actor=actor,
        causation_id=causation_id,
    )
