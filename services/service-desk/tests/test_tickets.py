# ruff: noqa: F811 (pytest fixtures imported from desk_fixtures)
"""Tickets through the HTTP API (SPEC §3): codes, the customer's name, the complaint rule,
the status machine with its processing log, visibility, and who may do what."""

from __future__ import annotations

import httpx
import pytest

from crm_platform.events import CloudEvent
from crm_service_desk.events.handlers import HANDLERS
from crm_service_desk.settings import Settings

from .desk_fixtures import START, api, clock, quiet_settings, sessions  # noqa: F401
from .factories import (
    ADMIN,
    AGENT,
    MANAGER,
    SUPERVISOR,
    VIEWER,
    act,
    open_ticket,
    rep,
    save_agent,
    save_team,
    seed_customer,
    staged,
    ticket_body,
)


async def test_codes_are_the_year_and_a_serial_and_the_name_comes_from_the_replica(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    first = await open_ticket(api, customer["id"])
    second = await open_ticket(api, customer["id"], title="打印机卡纸")
    assert (first["code"], second["code"]) == ("FW2026001", "FW2026002")
    assert first["customer_name"] == customer["name"]
    assert first["title"] == "客户反映设备昨天下午开始无法开机, 影响生产线运行"
    assert second["title"] == "打印机卡纸"
    assert first["status"] == "pending_assignment"
    assert first["priority"] == "medium" and first["urgent"] is False
    assert [entry["action"] for entry in first["log"]] == ["created"]
    assert {c["kind"] for c in first["sla"]} == {"assign", "first_response", "resolve"}
    created = await staged(quiet_settings.database_url, "ticket.created")
    assert [e["code"] for e in created] == ["FW2026001", "FW2026002"]


async def test_a_complaint_is_high_priority_urgent_and_carries_the_mood(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(
        api, customer["id"], ticket_type="complaint", priority="low", mood="agitated"
    )
    assert (ticket["priority"], ticket["urgent"], ticket["mood"]) == ("high", True, "agitated")
    targets = {c["kind"]: c["target_minutes"] for c in ticket["sla"]}
    assert targets == {"assign": 10, "first_response": 30, "resolve": 24 * 60}


async def test_the_mood_is_recorded_for_complaints_only(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    response = await api.post(
        "/v1/tickets", json=ticket_body(customer["id"], mood="calm"), headers=AGENT
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.mood"


async def test_high_priority_goes_to_the_supervisor_at_once(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    await save_team(api, supervisor_id="u-sup")
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"], ticket_type="complaint", mood="calm")
    assert (ticket["status"], ticket["assignee_id"]) == ("in_progress", "u-sup")
    assign_clock = next(c for c in ticket["sla"] if c["kind"] == "assign")
    assert assign_clock["status"] == "met"
    assigned = await staged(quiet_settings.database_url, "ticket.assigned")
    assert assigned[0]["automatic"] is True and assigned[0]["assignee_id"] == "u-sup"
    medium = await open_ticket(api, customer["id"])
    assert medium["status"] == "pending_assignment" and medium["assignee_id"] is None


async def test_the_to_assign_list_puts_urgent_and_high_first_and_filters_by_type(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    low = await open_ticket(api, customer["id"], priority="low", ticket_type="consultation")
    medium = await open_ticket(api, customer["id"])
    complaint = await open_ticket(api, customer["id"], ticket_type="complaint")
    page = await api.get(
        "/v1/tickets",
        params={"status": "pending_assignment", "order": "queue"},
        headers=SUPERVISOR,
    )
    assert [t["id"] for t in page.json()["items"]] == [complaint["id"], medium["id"], low["id"]]
    consultations = await api.get(
        "/v1/tickets",
        params={"status": "open", "ticket_type": "consultation"},
        headers=SUPERVISOR,
    )
    assert [t["id"] for t in consultations.json()["items"]] == [low["id"]]


async def test_the_status_machine_and_its_processing_log(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"])
    refused = await act(api, ticket, "resolve", resolution="重启后恢复", expect=409)
    assert refused["type"].endswith("illegal-ticket-action")
    ticket = await act(api, ticket, "assign", assignee_id="u-agent")
    assert ticket["status"] == "in_progress"
    clock.advance(minutes=20)
    ticket = await act(
        api, ticket, "log", as_=AGENT, note="电话联系客户, 约定远程排查", contacted_customer=True
    )
    assert ticket["first_response_at"] is not None
    await act(api, ticket, "close", expect=409)
    blank = await act(api, ticket, "resolve", resolution="  ", expect=422)
    assert blank["errors"][0]["field"] == "body.resolution"
    ticket = await act(api, ticket, "resolve", as_=AGENT, resolution="更换电源模块后恢复正常")
    assert ticket["status"] == "resolved" and ticket["resolution"] == "更换电源模块后恢复正常"
    ticket = await act(api, ticket, "reopen", note="客户反馈问题再次出现")
    assert ticket["status"] == "in_progress" and ticket["reopen_count"] == 1
    rounds = sorted(c["round"] for c in ticket["sla"] if c["kind"] == "resolve")
    assert rounds == [1, 2]
    ticket = await act(api, ticket, "resolve", resolution="更换主板")
    ticket = await act(api, ticket, "close")
    assert ticket["status"] == "closed"
    await act(api, ticket, "reopen", expect=409)
    await act(api, ticket, "log", note="补充说明", expect=409)
    log = [(e["action"], e["actor_id"]) for e in ticket["log"]]
    assert log == [
        ("created", "u-agent"),
        ("assigned", "u-sup"),
        ("contacted", "u-agent"),
        ("resolved", "u-agent"),
        ("reopened", "u-sup"),
        ("resolved", "u-sup"),
        ("closed", "u-sup"),
    ]
    times = [e["at"] for e in ticket["log"]]
    assert times == sorted(times)
    resolved = await staged(quiet_settings.database_url, "ticket.resolved")
    assert len(resolved) == 2 and resolved[0]["complaint"] is False


async def test_a_stale_version_is_refused(api: httpx.AsyncClient, quiet_settings: Settings) -> None:
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"])
    await act(api, ticket, "assign", assignee_id="u-agent")
    stale = await act(api, ticket, "assign", assignee_id="u-sup", expect=409)
    assert stale["type"].endswith("stale-version")
    missing = await api.post(
        f"/v1/tickets/{ticket['id']}/resolve", json={"resolution": "已处理"}, headers=SUPERVISOR
    )
    assert missing.status_code == 428


async def test_who_may_assign(api: httpx.AsyncClient, quiet_settings: Settings) -> None:
    await save_agent(api, "u-agent", ["tech_support"])
    await save_agent(api, "u-other", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"])
    await act(api, ticket, "assign", as_=AGENT, assignee_id="u-other", expect=403)
    unknown = await act(api, ticket, "assign", assignee_id="u-nobody", expect=422)
    assert unknown["errors"][0]["field"] == "body.assignee_id"
    taken = await act(api, ticket, "assign", as_=AGENT, assignee_id="u-agent")
    assert taken["assignee_id"] == "u-agent"
    # Once in progress only a supervisor moves it to someone else.
    await act(api, taken, "assign", as_=AGENT, assignee_id="u-agent", expect=409)
    moved = await act(api, taken, "assign", assignee_id="u-other")
    assert moved["assignee_id"] == "u-other"
    assigned = await staged(quiet_settings.database_url, "ticket.assigned")
    assert [(e["assignee_id"], e["previous_assignee_id"]) for e in assigned] == [
        ("u-agent", None),
        ("u-other", "u-agent"),
    ]


async def test_a_rep_sees_and_opens_tickets_of_own_customers_only(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    mine = await seed_customer(quiet_settings.database_url, owner_id="u-rep-1")
    theirs = await seed_customer(quiet_settings.database_url, owner_id="u-rep-2")
    own_ticket = await open_ticket(api, mine["id"], as_=rep("u-rep-1"))
    other_ticket = await open_ticket(api, theirs["id"])
    refused = await api.post("/v1/tickets", json=ticket_body(theirs["id"]), headers=rep("u-rep-1"))
    assert refused.status_code == 422
    listed = await api.get("/v1/tickets", headers=rep("u-rep-1"))
    assert [t["id"] for t in listed.json()["items"]] == [own_ticket["id"]]
    hidden = await api.get(f"/v1/tickets/{other_ticket['id']}", headers=rep("u-rep-1"))
    assert hidden.status_code == 404
    assert (
        await api.get(f"/v1/tickets/{own_ticket['id']}", headers=rep("u-rep-1"))
    ).status_code == 200
    await act(api, own_ticket, "resolve", as_=rep("u-rep-1"), resolution="已处理", expect=403)
    noted = await act(api, own_ticket, "log", as_=rep("u-rep-1"), note="客户来电催促")
    assert noted["log"][-1]["action"] == "note"
    for who in (VIEWER, MANAGER, AGENT, ADMIN):
        seen = await api.get("/v1/tickets", headers=who)
        assert seen.json()["total"] == 2
    viewer = await api.post("/v1/tickets", json=ticket_body(mine["id"]), headers=VIEWER)
    assert viewer.status_code == 403


async def test_an_unknown_or_archived_customer_takes_no_ticket(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    archived = await seed_customer(quiet_settings.database_url, archived=True)
    gone = await api.post("/v1/tickets", json=ticket_body(archived["id"]), headers=AGENT)
    assert gone.status_code == 409
    unknown = await api.post(
        "/v1/tickets",
        json=ticket_body("0b9f3c3e-1d2b-4c55-9a61-2f4f8e0c1a77"),
        headers=AGENT,
    )
    assert unknown.status_code == 422


async def test_making_a_ticket_a_complaint_raises_it_and_hands_it_to_the_supervisor(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    await save_team(api, supervisor_id="u-sup")
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"], ticket_type="consultation")
    response = await api.patch(
        f"/v1/tickets/{ticket['id']}",
        json={"ticket_type": "complaint", "mood": "disappointed", "version": ticket["version"]},
        headers=AGENT,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["priority"], changed["urgent"], changed["assignee_id"]) == (
        "high",
        True,
        "u-sup",
    )
    targets = {c["kind"]: c["target_minutes"] for c in changed["sla"]}
    assert targets == {"assign": 10, "first_response": 30, "resolve": 24 * 60}
    lower = await api.patch(
        f"/v1/tickets/{ticket['id']}",
        json={"priority": "low", "version": changed["version"]},
        headers=AGENT,
    )
    assert lower.status_code == 422


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("round_robin", ["u-b", "u-a"]), ("least_busy", ["u-b", "u-b"])],
)
async def test_automatic_strategies_pick_among_agents_handling_the_type(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, strategy: str, expected: list[str]
) -> None:
    await save_agent(api, "u-a", ["tech_support"])
    await save_agent(api, "u-b", ["tech_support", "consultation"])
    await save_agent(api, "u-c", ["consultation"])  # never: does not handle tech support
    customer = await seed_customer(quiet_settings.database_url)
    for _ in range(2):  # u-a has two open tickets, given by hand
        clock.advance(minutes=1)
        ticket = await open_ticket(api, customer["id"])
        await act(api, ticket, "assign", assignee_id="u-a")
    await save_team(api, strategy=strategy)
    got = []
    for _ in range(2):
        clock.advance(minutes=1)
        got.append((await open_ticket(api, customer["id"]))["assignee_id"])
    # Round robin: u-b was never given one, then u-a was given one longest ago; least busy:
    # u-b has fewer open tickets both times.
    assert got == expected
    consultation = await open_ticket(api, customer["id"], ticket_type="consultation")
    assert consultation["assignee_id"] == "u-c"
    log = consultation["log"][-1]
    assert log["action"] == "assigned" and log["details"]["automatic"] is True


async def test_without_an_agent_for_the_type_it_waits_for_a_supervisor(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    await save_team(api, strategy="round_robin")
    await save_agent(api, "u-a", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"], ticket_type="suggestion")
    assert ticket["status"] == "pending_assignment"


async def test_users_given_the_agent_role_become_agents_and_disabled_ones_take_no_tickets(
    api: httpx.AsyncClient, quiet_settings: Settings, sessions
) -> None:
    def user(event_type: str, roles: list[str], name: str = "王小明") -> CloudEvent:
        data = {"id": "u-new", "username": "wxm", "display_name": name, "roles": roles}
        return CloudEvent.new(
            service="gateway", routing_key=event_type, subject="u-new", data=data, actor="t"
        )

    async def apply(event: CloudEvent) -> None:
        async with sessions() as session, session.begin():
            await HANDLERS[event.type.removeprefix("crm.")](session, event)

    await apply(user("user.created", ["sales_rep"]))  # not an agent
    assert (await api.get("/v1/service-desk/agents", headers=SUPERVISOR)).json() == []
    await apply(user("user.updated", ["service_agent"], name="王晓明"))
    [agent] = (await api.get("/v1/service-desk/agents", headers=SUPERVISOR)).json()
    assert (agent["user_id"], agent["display_name"], agent["active"]) == ("u-new", "王晓明", True)
    assert len(agent["ticket_types"]) == 6
    await save_team(api, strategy="round_robin")
    customer = await seed_customer(quiet_settings.database_url)
    assert (await open_ticket(api, customer["id"]))["assignee_id"] == "u-new"
    await apply(user("user.disabled", ["service_agent"]))
    [agent] = (await api.get("/v1/service-desk/agents", headers=SUPERVISOR)).json()
    assert agent["active"] is False
    assert (await open_ticket(api, customer["id"]))["assignee_id"] is None


async def test_a_list_shows_each_tickets_clock_due_first(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    pending = await open_ticket(api, customer["id"])
    waiting = await act(
        api, await open_ticket(api, customer["id"]), "assign", assignee_id="u-agent"
    )
    waiting = await act(api, waiting, "wait", as_=AGENT)
    done = await act(api, await open_ticket(api, customer["id"]), "assign", assignee_id="u-agent")
    done = await act(api, done, "resolve", as_=AGENT, resolution="远程指导后恢复")
    clock.advance(minutes=50)  # the medium ticket's assign clock (1 h) warns at 48 min
    page = (await api.get("/v1/tickets", headers=SUPERVISOR)).json()
    by_id = {t["id"]: t["next_clock"] for t in page["items"]}
    assert by_id[pending["id"]]["kind"] == "assign"
    assert by_id[pending["id"]]["status"] == "warning"
    [assign] = [c for c in pending["sla"] if c["kind"] == "assign"]
    assert by_id[pending["id"]]["due_at"] == assign["due_at"]
    assert by_id[waiting["id"]]["status"] == "paused"
    assert by_id[waiting["id"]]["due_at"] is None
    assert by_id[waiting["id"]]["paused_remaining_minutes"] > 0
    assert by_id[done["id"]] is None
    clock.advance(minutes=20)
    page = (await api.get("/v1/tickets", headers=SUPERVISOR)).json()
    assert {t["id"]: t["next_clock"]["status"] for t in page["items"] if t["next_clock"]}[
        pending["id"]
    ] == "breached"
