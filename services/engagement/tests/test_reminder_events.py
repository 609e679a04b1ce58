"""``reminder.due`` bodies serialized in bulk are the events ``build_event`` makes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from crm_engagement.events import published as ev
from crm_platform.events import CloudEvent


@pytest.mark.parametrize("late", [False, True])
@pytest.mark.parametrize("with_ids", [False, True])
def test_bulk_reminder_due_bodies_match_build_event(late: bool, with_ids: bool) -> None:
    fired_at = datetime(2026, 6, 3, 1, 0, 30, 123456, tzinfo=UTC)
    row = SimpleNamespace(
        id=uuid.uuid4(),
        kind="next_follow_up",
        recipient_id="u-rep",
        customer_id=uuid.uuid4() if with_ids else None,
        subject_id=uuid.uuid4() if with_ids else None,
        title="今日跟进 Follow up 客户 (C1) today",
        due_on=date(2026, 6, 3) if with_ids else None,
        due_at=datetime(2026, 6, 3, 1, 0, tzinfo=UTC),
        late=late,
    )
    ((event_id, routing_key, body),) = ev.reminder_due_bodies([row], fired_at)
    expected = ev.build_event(
        ev.REMINDER_DUE,
        ev.ReminderDue(
            id=str(row.id),
            kind=row.kind,
            recipient_id=row.recipient_id,
            customer_id=str(row.customer_id) if row.customer_id else None,
            subject_id=str(row.subject_id) if row.subject_id else None,
            title=row.title,
            due_on=row.due_on,
            due_at=row.due_at,
            fired_at=fired_at,
            late=late,
        ),
        subject=str(row.id),
        actor="system",
    )
    assert routing_key == expected.routing_key == "reminder.due"
    parsed = CloudEvent.from_bytes(body.encode())
    assert parsed.id == event_id
    assert ev.ReminderDue.model_validate(parsed.data) == ev.ReminderDue.model_validate(
        expected.data
    )
    got, want = json.loads(body), json.loads(expected.model_dump_json())
    for varying in ("id", "time"):
        got.pop(varying), want.pop(varying)
    assert got == want  # the same JSON, key for key, value for value
    assert list(json.loads(body)["data"]) == list(ev.ReminderDue.model_fields)
