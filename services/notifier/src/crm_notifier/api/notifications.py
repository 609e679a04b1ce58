"""Routes of the inbox, preferences, delivery log and admin messages (``/v1/notifications``)."""

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_notifier.api.dependencies import Context
from crm_notifier.db.models import Delivery, Notification, UserPreference
from crm_notifier.domain import inbox
from crm_notifier.domain.kinds import Category
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    category: str
    urgent: bool
    subject: str
    body: str
    link: str | None
    event_type: str | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, n: Notification) -> "NotificationOut":
        return cls.model_validate(n, from_attributes=True)


class InboxPage(BaseModel):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    page_size: int


class DeliveryOut(BaseModel):
    id: uuid.UUID
    channel: str
    address: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    log: list[dict[str, Any]]

    @classmethod
    def of(cls, d: Delivery) -> "DeliveryOut":
        out = cls.model_validate(d, from_attributes=True)
        return out.model_copy(
            update={"next_attempt_at": d.next_attempt_at if d.status == "pending" else None}
        )


class NotificationDetailOut(NotificationOut):
    recipient_kind: str
    recipient_id: str
    deliveries: list[DeliveryOut]


class ReadIn(Strict):
    ids: list[uuid.UUID] | None = Field(default=None, max_length=500, description="None: all")


class Count(BaseModel):
    count: int


class PreferencesOut(BaseModel):
    channels: list[str]
    quiet_start: time | None
    quiet_end: time | None
    timezone: str
    locale: str
    version: int

    @classmethod
    def of(cls, p: UserPreference) -> "PreferencesOut":
        return cls.model_validate(p, from_attributes=True)


class PreferencesIn(Strict):
    channels: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        min_length=1, max_length=10
    )
    quiet_start: time | None = Field(default=None, description="Local time, e.g. 22:00")
    quiet_end: time | None = Field(default=None, description="Local time, e.g. 07:00")
    timezone: Annotated[str, StringConstraints(max_length=64)] = "Asia/Shanghai"
    locale: Annotated[str, StringConstraints(max_length=10)] = "zh-CN"
    version: int | None = Field(default=None, ge=0, le=2**31 - 1, description="0: none saved yet")


class MessageIn(Strict):
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    category: Category = Category.TRANSACTIONAL
    user_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default=[], max_length=1000
    )
    contact_ids: list[uuid.UUID] = Field(default=[], max_length=1000)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class DeliveryRowOut(DeliveryOut):
    notification_id: uuid.UUID
    kind: str
    recipient_kind: str
    recipient_id: str


class DeliveryPage(BaseModel):
    items: list[DeliveryRowOut]
    total: int
    page: int
    page_size: int


@router.get("", response_model=InboxPage)
async def my_inbox(
    session: SessionDep,
    ctx: Context,
    unread_only: bool = False,
    page: Page = 1,
    page_size: PageSize = 20,
) -> InboxPage:
    """Your notifications, newest first, with the unread count."""
    found, total, unread = await inbox.list_inbox(
        session, ctx, unread_only=unread_only, page=page, page_size=page_size
    )
    return InboxPage(
        items=[NotificationOut.of(n) for n in found],
        total=total,
        unread=unread,
        page=page,
        page_size=page_size,
    )


@router.get("/unread-count", response_model=Count)
async def unread_count(session: SessionDep, ctx: Context) -> Count:
    return Count(count=await inbox.unread(session, ctx))


@router.post("/read", response_model=Count)
async def mark_read(body: ReadIn, session: SessionDep, ctx: Context) -> Count:
    """Mark these (or all) of your notifications read; answers how many changed."""
    return Count(count=await inbox.mark_read(session, ctx, body.ids))


@router.get("/preferences", response_model=PreferencesOut)
async def my_preferences(session: SessionDep, ctx: Context) -> PreferencesOut:
    return PreferencesOut.of(await inbox.get_preferences(session, ctx))


@router.put("/preferences", response_model=PreferencesOut)
async def save_preferences(
    body: PreferencesIn, session: SessionDep, ctx: Context, if_match: IfMatch = None
) -> PreferencesOut:
    """Your channels (the inbox always) and quiet hours: non-urgent messages wait for their end."""
    command = inbox.SavePreferences(
        channels=tuple(body.channels),
        quiet_start=body.quiet_start,
        quiet_end=body.quiet_end,
        timezone=body.timezone,
        locale=body.locale,
        expected_version=expected_version(body.version, if_match),
    )
    return PreferencesOut.of(await inbox.save_preferences(session, ctx, command))


@router.post("/messages", response_model=Count)
async def send_message(body: MessageIn, session: SessionDep, ctx: Context) -> Count:
    """An admin's message to people and contacts (marketing ones skip opted-out contacts);
    answers how many notifications were made."""
    command = inbox.SendMessage(
        subject=body.subject,
        text=body.text,
        category=body.category,
        user_ids=tuple(body.user_ids),
        contact_ids=tuple(body.contact_ids),
    )
    return Count(count=await inbox.send_message(session, ctx, command))


@router.get("/deliveries", response_model=DeliveryPage)
async def deliveries(
    session: SessionDep,
    ctx: Context,
    status: DeliveryStatus | None = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> DeliveryPage:
    """Every delivery (admins): the failed ones with their reasons, say."""
    found, total = await inbox.list_deliveries(
        session,
        ctx,
        status=status.value if status else None,
        channel=channel,
        page=page,
        page_size=page_size,
    )
    items = [
        DeliveryRowOut(
            **DeliveryOut.of(d).model_dump(),
            notification_id=n.id,
            kind=n.kind,
            recipient_kind=n.recipient_kind,
            recipient_id=n.recipient_id,
        )
        for d, n in found
    ]
    return DeliveryPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/{notification_id}", response_model=NotificationDetailOut)
async def get_notification(
    notification_id: uuid.UUID, session: SessionDep, ctx: Context
) -> NotificationDetailOut:
    """One of your notifications with the log of its deliveries on each channel."""
    detail = await inbox.get_notification(session, ctx, notification_id)
    n = detail.notification
    return NotificationDetailOut(
        **NotificationOut.of(n).model_dump(),
        recipient_kind=n.recipient_kind,
        recipient_id=n.recipient_id,
        deliveries=[DeliveryOut.of(d) for d in detail.deliveries],
    )
