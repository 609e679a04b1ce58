# ruff: noqa: F811 (pytest fixtures imported from engagement_fixtures)
"""The reminder scheduler and the rules that feed it, on PostgreSQL with a fake clock:
exactly once with two schedulers, missed reminders fired once (late) after downtime,
cadence once per overdue period, a new prospect's first follow-up, owner changes, grade
changes, merges, resolved complaints and users from the gateway."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from crm_engagement.domain.scheduler import ReminderScheduler
from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.testing import fetch

from .engagement_fixtures import START, api, clock, handlers, quiet_settings, sessions  # noqa: F401
from .factories import (
    MANAGER,
    apply,
    create_opportunity,
    customer_state,
    event,
    followup_body,
    headers,
    log_followup,
)

REP = headers()


async def _customer(sessions, handlers, **kwargs) -> dict:  # type: ignore[no-untyped-def,type-arg]
    state = customer_state(**kwargs)
    await apply(
        sessions, handlers, event("customer.created", state, time=START - timedelta(days=1))
    )
    return state


async def test_two_schedulers_fire_each_due_reminder_exactly_once(
    quiet_settings, sessions, clock
) -> None:  # type: ignore[no-untyped-def]
    url = quiet_settings.database_url
    async with sessions() as session, session.begin():
        from crm_engagement.db.followup_models import Reminder

        for n in range(400):
            session.add(
                Reminder(
                    kind="next_follow_up",
                    dedupe_key=f"test:{n}",
                    due_at=START - timedelta(minutes=n % 5),
                    recipient_id=f"u-{n % 7}",
                    title=f"reminder {n}",
                    created_at=START - timedelta(days=1),
                )
            )
    settings = quiet_settings.model_copy(update={"reminder_batch_size": 25})
    engines = [create_engine(url, pool_size=2) for _ in range(2)]
    try:
        schedulers = [ReminderScheduler(create_sessionmaker(e), settings, clock) for e in engines]
        fired = await asyncio.gather(*(s.fire_due() for s in schedulers))
        assert sum(fired) == 400
        assert all(n > 0 for n in fired), fired  # both took part
        assert await asyncio.gather(*(s.fire_due() for s in schedulers)) == [0, 0]
    finally:
        for engine in engines:
            await engine.dispose()
    events = await fetch(
        url,
        "SELECT body::json -> 'data' ->> 'id' AS id, count(*) AS n FROM outbox_message "
        "WHERE routing_key = 'reminder.due' GROUP BY 1",
    )
    assert len(events) == 400 and all(row["n"] == 1 for row in events)
    unfired = await fetch(url, "SELECT count(*) AS n FROM reminder WHERE fired_at IS NULL")
    assert unfired[0]["n"] == 0


async def test_a_scheduler_down_across_the_hour_fires_missed_reminders_once_marked_late(
    api, quiet_settings, sessions, handlers, clock
) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    # next follow-up on 3 June: reminded at 09:00 Shanghai (01:00 UTC) that day
    await log_followup(api, customer["id"], next_follow_up_at="2026-06-03T14:00:00+08:00")
    scheduler = ReminderScheduler(sessions, quiet_settings, clock)
    clock.set(datetime(2026, 6, 3, 0, 59, tzinfo=UTC))
    assert await scheduler.fire_due() == 0
    clock.set(datetime(2026, 6, 3, 1, 0, 30, tzinfo=UTC))  # on time
    on_time = ReminderScheduler(sessions, quiet_settings, clock)
    # a second follow-up whose reminder the stopped scheduler will miss
    clock.set(datetime(2026, 6, 3, 0, 30, tzinfo=UTC))
    await log_followup(api, customer["id"], next_follow_up_at="2026-06-04T10:00:00+08:00")
    clock.set(datetime(2026, 6, 3, 1, 0, 30, tzinfo=UTC))
    assert await on_time.fire_due() == 1
    # down from 4 June 08:00 to 11:30 (Shanghai); the restarted one fires the missed one late
    clock.set(datetime(2026, 6, 4, 3, 30, tzinfo=UTC))
    restarted = ReminderScheduler(sessions, quiet_settings, clock)
    assert await restarted.fire_due() == 1
    assert await restarted.fire_due() == 0
    rows = await fetch(
        quiet_settings.database_url,
        "SELECT body::json -> 'data' AS data FROM outbox_message "
        "WHERE routing_key = 'reminder.due' ORDER BY created_at",
    )
    import json

    fired = [json.loads(r["data"]) for r in rows]
    assert [(d["due_at"], d["late"]) for d in fired] == [
        ("2026-06-03T01:00:00Z", False),
        ("2026-06-04T01:00:00Z", True),
    ]
    assert {d["recipient_id"] for d in fired} == {"u-rep"}
    listed = (
        await api.get("/v1/engagement/reminders", params={"fired": "true"}, headers=REP)
    ).json()
    assert listed["total"] == 2 and any(i["late"] for i in listed["items"])


async def test_cadence_lists_overdue_customers_and_reminds_once_per_period(
    api, quiet_settings, sessions, handlers, clock
) -> None:  # type: ignore[no-untyped-def]
    a = await _customer(sessions, handlers, grade="A")  # known since 31 May
    b = await _customer(sessions, handlers, grade="B")
    theirs = await _customer(sessions, handlers, grade="A", owner_id="u-rep2")
    scheduler = ReminderScheduler(sessions, quiet_settings, clock)

    clock.set(datetime(2026, 6, 7, 2, tzinfo=UTC))  # 7 days after 31 May: not yet
    assert (await api.get("/v1/engagement/overdue", headers=REP)).json()["total"] == 0
    clock.set(datetime(2026, 6, 8, 2, tzinfo=UTC))  # 8 June: A overdue, B not
    overdue = (await api.get("/v1/engagement/overdue", headers=REP)).json()
    assert [i["customer_id"] for i in overdue["items"]] == [a["id"]]
    assert overdue["items"][0]["overdue_since"] == "2026-06-08"
    assert (await api.get("/v1/engagement/overdue", headers=MANAGER)).json()["total"] == 2
    await scheduler.scan()
    await scheduler.scan()  # a second scan reminds nobody again
    await scheduler.fire_due()
    url = quiet_settings.database_url
    cadence = (
        "SELECT customer_id::text AS c, recipient_id AS r FROM reminder "
        "WHERE kind = 'cadence_overdue'"
    )
    assert sorted((r["c"], r["r"]) for r in await fetch(url, cadence)) == sorted(
        [(a["id"], "u-rep"), (theirs["id"], "u-rep2")]
    )
    # a follow-up ends the period; past the cadence again, a new period, a new reminder
    await log_followup(api, a["id"])
    assert (await api.get("/v1/engagement/overdue", headers=REP)).json()["total"] == 0
    clock.set(datetime(2026, 6, 16, 2, tzinfo=UTC))
    await scheduler.scan()
    rows = await fetch(url, cadence + " AND customer_id = $1", uuid.UUID(a["id"]))
    assert len(rows) == 2
    assert b["id"] in [
        i["customer_id"]
        for i in (await api.get("/v1/engagement/overdue", headers=REP)).json()["items"]
    ]


async def test_a_new_prospect_without_a_first_follow_up_in_24_hours_reminds_its_owner(
    api, quiet_settings, sessions, handlers, clock
) -> None:  # type: ignore[no-untyped-def]
    created = datetime(2026, 6, 1, 2, tzinfo=UTC)
    waiting = customer_state(lifecycle="prospect", grade=None)
    served = customer_state(lifecycle="prospect", grade=None)
    await apply(
        sessions,
        handlers,
        event("customer.created", waiting, time=created),
        event("customer.created", served, time=created),
    )
    await log_followup(api, served["id"])
    scheduler = ReminderScheduler(sessions, quiet_settings, clock)
    clock.set(created + timedelta(hours=23, minutes=59))
    assert await scheduler.fire_due() == 0
    clock.set(created + timedelta(hours=24, minutes=1))
    assert await scheduler.fire_due() == 1
    clock.set(created + timedelta(days=3))
    assert await scheduler.fire_due() == 0
    rows = await fetch(
        quiet_settings.database_url,
        "SELECT customer_id::text AS c, recipient_id AS r, late FROM reminder "
        "WHERE kind = 'first_follow_up_missing' AND fired_at IS NOT NULL",
    )
    assert [(r["c"], r["r"], r["late"]) for r in rows] == [(waiting["id"], "u-rep", False)]


async def test_an_owner_change_repoints_open_work_and_a_grade_change_replans(
    api, quiet_settings, sessions, handlers, clock
) -> None:  # type: ignore[no-untyped-def]
    state = await _customer(sessions, handlers, grade="B")
    await log_followup(
        api,
        state["id"],
        next_follow_up_at="2026-06-05T10:00:00+08:00",
        action_items=[{"action": "送样品", "due_on": "2026-06-04"}],
    )
    opportunity = await create_opportunity(api, uuid.UUID(state["id"]))
    assert opportunity["owner_id"] == "u-rep"
    moved = {**state, "owner_id": "u-rep2", "version": 2}
    await apply(
        sessions,
        handlers,
        event(
            "customer.owner_changed",
            {
                "customer": moved,
                "previous_owner_id": "u-rep",
                "owner_id": "u-rep2",
                "transfer_id": str(uuid.uuid4()),
            },
        ),
    )
    url = quiet_settings.database_url
    pending = await fetch(
        url,
        "SELECT DISTINCT recipient_id FROM reminder "
        "WHERE fired_at IS NULL AND cancelled_at IS NULL",
    )
    assert [r["recipient_id"] for r in pending] == ["u-rep2"]
    owners = await fetch(
        url, "SELECT DISTINCT owner_id, grade FROM plan_task WHERE status = 'open'"
    )
    assert [(r["owner_id"], r["grade"]) for r in owners] == [("u-rep2", "B")]
    items = await fetch(url, "SELECT assignee_id FROM action_item")
    assert [r["assignee_id"] for r in items] == ["u-rep2"]
    opportunities = await fetch(url, "SELECT owner_id FROM opportunity")
    assert [r["owner_id"] for r in opportunities] == ["u-rep2"]  # the open one follows
    # the old owner no longer sees the customer's work; the new one does
    assert (await api.get("/v1/follow-ups", headers=REP)).json()["total"] == 0
    assert (await api.get("/v1/follow-ups", headers=headers(subject="u-rep2"))).json()["total"] == 1

    regraded = {**moved, "grade": "A", "version": 3}
    await apply(sessions, handlers, event("customer.graded", {"customer": regraded}))
    kinds = await fetch(
        url, "SELECT grade, status, count(*) AS n FROM plan_task GROUP BY 1, 2 ORDER BY 1, 2"
    )
    summary = {(r["grade"], r["status"]): r["n"] for r in kinds}
    assert summary[("B", "cancelled")] == 6 and ("B", "open") not in summary
    assert summary[("A", "open")] == 27  # 12 calls, 12 visits, 3 holiday gifts
    # an older state arriving late changes nothing
    await apply(sessions, handlers, event("customer.updated", {**state, "version": 1}))
    assert (await fetch(url, "SELECT count(*) AS n FROM plan_task WHERE status = 'open'"))[0][
        "n"
    ] == 27


async def test_a_merge_moves_history_to_the_survivor(
    api, quiet_settings, sessions, handlers
) -> None:  # type: ignore[no-untyped-def]
    survivor = await _customer(sessions, handlers, grade=None)
    merged = await _customer(sessions, handlers, grade=None)
    await log_followup(api, merged["id"], occurred_on="2026-05-20")
    await log_followup(api, survivor["id"], occurred_on="2026-05-10")
    await apply(
        sessions,
        handlers,
        event(
            "customer.merged",
            {
                "customer": {**survivor, "version": 2},
                "source_id": merged["id"],
                "source_code": merged["code"],
                "moved_contact_ids": [],
            },
        ),
    )
    history = (
        await api.get("/v1/follow-ups", params={"customer_id": survivor["id"]}, headers=REP)
    ).json()
    assert [i["occurred_on"] for i in history["items"]] == ["2026-05-20", "2026-05-10"]
    activity = await fetch(
        quiet_settings.database_url,
        "SELECT last_follow_up_on FROM customer_activity WHERE customer_id = $1",
        uuid.UUID(survivor["id"]),
    )
    assert activity[0]["last_follow_up_on"].isoformat() == "2026-05-20"


async def test_a_resolved_complaint_adds_a_system_follow_up(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    resolved = {
        "id": str(uuid.uuid4()),
        "code": "TK2026000123",
        "customer_id": customer["id"],
        "complaint": True,
        "resolution": "更换了故障设备",
        "status": "resolved",
    }
    plain = {**resolved, "id": str(uuid.uuid4()), "complaint": False}
    unknown = {**resolved, "id": str(uuid.uuid4()), "customer_id": str(uuid.uuid4())}
    await apply(
        sessions,
        handlers,
        *(event("ticket.resolved", d, service="service-desk") for d in (resolved, plain, unknown)),
    )
    history = (
        await api.get("/v1/follow-ups", params={"customer_id": customer["id"]}, headers=REP)
    ).json()
    assert history["total"] == 1
    item = history["items"][0]
    assert item["source"] == "system" and item["method"] == "system"
    assert item["summary"].startswith("投诉已解决 complaint resolved: TK2026000123")
    assert item["follower_id"] == "u-rep"


async def test_users_come_from_the_gateway(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    user = {
        "id": "u-helper",
        "username": "li",
        "display_name": "李娜",
        "roles": ["sales_rep"],
        "team": "华东",
        "active": True,
        "version": 1,
    }
    await apply(sessions, handlers, event("user.created", user, service="gateway"))
    logged = await log_followup(api, customer["id"], follower_id="u-helper")
    assert logged["follower_name"] == "李娜"
    await apply(
        sessions,
        handlers,
        event("user.disabled", {**user, "active": False, "version": 2}, service="gateway"),
    )
    refused = await api.post(
        "/v1/follow-ups", json=followup_body(customer["id"], follower_id="u-helper"), headers=REP
    )
    assert refused.status_code == 422
