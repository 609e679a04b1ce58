"""Events the service-desk service publishes, and their payloads (owned here)."""

from datetime import datetime

from pydantic import BaseModel

from crm_platform.events import PublishedEvents

SERVICE = "service-desk"

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_RESOLVED = "ticket.resolved"
TICKET_REOPENED = "ticket.reopened"
TICKET_CLOSED = "ticket.closed"
TICKET_SLA_WARNING = "ticket.sla_warning"
TICKET_SLA_BREACHED = "ticket.sla_breached"
TICKET_CALLBACK_DUE = "ticket.callback_due"
SURVEY_ANSWERED = "survey.answered"
KB_ARTICLE_PUBLISHED = "kb.article_published"


class TicketSnapshot(BaseModel):
    """A ticket as it stands after the change (event-carried state). ``complaint`` is
    ``ticket_type == "complaint"``, for readers that only care whether it is one."""

    id: str
    code: str
    customer_id: str
    customer_name: str
    contact_id: str | None = None
    title: str
    ticket_type: str
    complaint: bool
    priority: str
    urgent: bool
    status: str
    mood: str | None = None
    channel: str
    cause: str | None = None
    team_key: str
    assignee_id: str | None = None
    waiting_on_customer: bool
    resolution: str | None = None
    satisfaction: int | None = None
    created_at: datetime
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    version: int


class TicketAssigned(BaseModel):
    """``ticket`` went to ``assignee_id``: automatically (a high-priority ticket to the team's
    supervisor, or a team's round-robin or least-busy strategy) or by a supervisor."""

    ticket: TicketSnapshot
    assignee_id: str
    previous_assignee_id: str | None = None
    automatic: bool
    reason: str


class SurveyLink(BaseModel):
    id: str
    token: str
    url: str
    expires_at: datetime


class TicketClosed(BaseModel):
    """The notifier sends ``survey.url`` to the customer's contact (SMS or email); the link
    works once, without signing in, until ``survey.expires_at``."""

    ticket: TicketSnapshot
    survey: SurveyLink


class SlaAlert(BaseModel):
    """An SLA clock reached its warning share (``ticket.sla_warning``) or its target
    (``ticket.sla_breached``); the notifier alerts ``supervisor_id`` (and the assignee).
    ``kind``: assign, first_response or resolve; ``round`` counts the resolve clocks of a
    reopened ticket. Each is published once per clock."""

    ticket_id: str
    code: str
    customer_id: str
    customer_name: str
    title: str
    ticket_type: str
    priority: str
    kind: str
    round: int
    target_minutes: int
    started_at: datetime
    due_at: datetime
    detected_at: datetime
    assignee_id: str | None = None
    supervisor_id: str | None = None
    team_key: str


class CallbackDue(BaseModel):
    """A callback after a repair or visit (回访) is due: ``assignee_id`` calls the customer."""

    callback_id: str
    ticket_id: str
    code: str
    customer_id: str
    customer_name: str
    contact_id: str | None = None
    title: str
    assignee_id: str
    due_at: datetime
    resolution: str | None = None


class SurveyAnswered(BaseModel):
    survey_id: str
    ticket_id: str
    code: str
    customer_id: str
    agent_id: str | None = None
    score: int
    comment: str | None = None
    answered_at: datetime


class KbArticlePublished(BaseModel):
    """A knowledge-base article became visible to everybody (created published, or moved to
    published from draft or archived). The answer stays out: readers fetch the article."""

    id: str
    question: str
    tags: list[str]
    published_by: str
    published_at: datetime
    version: int


PAYLOADS: dict[str, type[BaseModel]] = {
    TICKET_CREATED: TicketSnapshot,
    TICKET_UPDATED: TicketSnapshot,
    TICKET_ASSIGNED: TicketAssigned,
    TICKET_RESOLVED: TicketSnapshot,
    TICKET_REOPENED: TicketSnapshot,
    TICKET_CLOSED: TicketClosed,
    TICKET_SLA_WARNING: SlaAlert,
    TICKET_SLA_BREACHED: SlaAlert,
    TICKET_CALLBACK_DUE: CallbackDue,
    SURVEY_ANSWERED: SurveyAnswered,
    KB_ARTICLE_PUBLISHED: KbArticlePublished,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED = PublishedEvents(SERVICE, PAYLOADS)
PUBLISHED_TYPES = PUBLISHED.types
build_event = PUBLISHED.build
