"""The SLA configuration over HTTP on a migrated database: the seeded default calendar and
targets, who may read and change them, validation (422 problem+json, never 500), versions,
and holidays moving the due-moment preview."""

import httpx
import pytest

from crm_platform.testing import bearer

from .conftest import INTERNAL_TOKEN_SECRET

BASE = "/v1/service-desk"
PROBLEM = "application/problem+json"


def as_role(role: str, subject: str | None = None) -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, role, subject=subject or f"u-{role}")


SUPERVISOR = as_role("service_supervisor")
ADMIN = as_role("admin")
AGENT = as_role("service_agent")
REP = as_role("sales_rep")

WEEKLY_BODY = {"key": "office", "name": "上海办公室", "kind": "weekly"}
FRIDAY_LATE = "2026-11-27T17:55:00+08:00"


async def create(client: httpx.AsyncClient, **overrides) -> dict:
    response = await client.post(
        f"{BASE}/calendars", json={**WEEKLY_BODY, **overrides}, headers=SUPERVISOR
    )
    assert response.status_code == 201, response.text
    return response.json()


async def due(client: httpx.AsyncClient, key: str, start: str, hours: float) -> str:
    response = await client.get(
        f"{BASE}/calendars/{key}/preview", params={"start": start, "hours": hours}, headers=AGENT
    )
    assert response.status_code == 200, response.text
    return response.json()["due_at_local"]


async def test_a_new_installation_has_the_default_calendar_and_targets(client) -> None:
    calendars = (await client.get(f"{BASE}/calendars", headers=AGENT)).json()["items"]
    assert [(c["key"], c["kind"], c["timezone"]) for c in calendars] == [
        ("default", "always", "Asia/Shanghai")
    ]
    assert await due(client, "default", FRIDAY_LATE, 24) == "2026-11-28T17:55:00+08:00"
    targets = (await client.get(f"{BASE}/sla-targets", headers=AGENT)).json()["targets"]
    by_scope = {
        (t["priority"], t["ticket_type"]): (
            t["assign_minutes"],
            t["first_response_minutes"],
            t["resolve_minutes"],
        )
        for t in targets
    }
    assert by_scope == {
        (None, None): (60, 240, 4320),
        ("high", None): (15, 60, 1440),
        ("medium", None): (None, 240, 4320),
        ("low", None): (None, 480, 7200),
        (None, "complaint"): (10, 30, 1440),
    }


@pytest.mark.parametrize(
    ("headers", "method", "path", "body", "expected"),
    [
        (AGENT, "GET", "/calendars/default", None, 200),
        (AGENT, "GET", "/sla-targets", None, 200),
        (AGENT, "POST", "/calendars", WEEKLY_BODY, 403),
        (AGENT, "PATCH", "/calendars/default", {"version": 1, "name": "x"}, 403),
        (AGENT, "PUT", "/calendars/default/holidays/2026-12-01", None, 403),
        (AGENT, "DELETE", "/calendars/default/holidays/2026-12-01", None, 403),
        (AGENT, "PUT", "/sla-targets", {"targets": [{"assign_minutes": 1}]}, 403),
        (REP, "GET", "/calendars", None, 403),
        (REP, "GET", "/sla-targets", None, 403),
        (REP, "GET", "/calendars/default/preview?hours=1", None, 403),
        (REP, "POST", "/calendars", WEEKLY_BODY, 403),
        (as_role("viewer"), "GET", "/calendars", None, 403),
        (ADMIN, "POST", "/calendars", WEEKLY_BODY, 201),
    ],
)
async def test_who_may_read_and_change(client, headers, method, path, body, expected) -> None:
    response = await client.request(method, BASE + path, json=body, headers=headers)
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.headers["content-type"] == PROBLEM


async def test_a_weekly_calendar_counts_business_hours(client) -> None:
    created = await create(client)
    assert created["weekly_hours"]["mon"] == [["09:00", "18:00"]]
    assert "sat" not in created["weekly_hours"]
    # 5 min Friday, 9 h Monday, 9 h Tuesday, 5 h 55 min Wednesday.
    assert await due(client, "office", FRIDAY_LATE, 24) == "2026-12-02T14:55:00+08:00"


async def test_holidays_move_the_due_moment(client) -> None:
    await create(client)
    put = await client.put(
        f"{BASE}/calendars/office/holidays/2026-11-30", json={"name": "团建"}, headers=SUPERVISOR
    )
    assert put.status_code == 200, put.text
    assert put.json()["holidays"] == [{"date": "2026-11-30", "name": "团建"}]
    assert put.json()["version"] == 2
    assert await due(client, "office", FRIDAY_LATE, 24) == "2026-12-03T14:55:00+08:00"

    removed = await client.delete(f"{BASE}/calendars/office/holidays/2026-11-30", headers=ADMIN)
    assert removed.status_code == 200, removed.text
    assert removed.json()["holidays"] == []
    assert await due(client, "office", FRIDAY_LATE, 24) == "2026-12-02T14:55:00+08:00"

    again = await client.delete(f"{BASE}/calendars/office/holidays/2026-11-30", headers=ADMIN)
    assert again.status_code == 404
    assert again.headers["content-type"] == PROBLEM
    no_day = await client.put(f"{BASE}/calendars/office/holidays/2026-13-01", headers=ADMIN)
    assert no_day.status_code == 422
    no_calendar = await client.put(f"{BASE}/calendars/nowhere/holidays/2026-12-01", headers=ADMIN)
    assert no_calendar.status_code == 404


async def test_a_holiday_replaces_an_extra_working_day(client) -> None:
    await create(client, extra_workdays=[{"date": "2026-11-28"}])
    assert await due(client, "office", FRIDAY_LATE, 1) == "2026-11-28T09:55:00+08:00"
    put = await client.put(f"{BASE}/calendars/office/holidays/2026-11-28", headers=SUPERVISOR)
    assert (put.json()["holidays"], put.json()["extra_workdays"]) == (
        [{"date": "2026-11-28", "name": None}],
        [],
    )
    assert await due(client, "office", FRIDAY_LATE, 1) == "2026-11-30T09:55:00+08:00"


async def test_the_china_calendar_skips_national_day(client) -> None:
    await create(client, key="cn", kind="china")
    # 3 h Sep 30, holiday Oct 1-7, 9 h Oct 8, 9 h Oct 9, 3 h on the adjusted Saturday Oct 10.
    assert await due(client, "cn", "2026-09-30T15:00:00+08:00", 24) == "2026-10-10T12:00:00+08:00"


async def test_changes_carry_the_version_read(client) -> None:
    created = await create(client)
    path = f"{BASE}/calendars/office"
    no_version = await client.patch(path, json={"name": "新名字"}, headers=SUPERVISOR)
    assert no_version.status_code == 428
    stale = await client.patch(
        path, json={"name": "新名字"}, headers={**SUPERVISOR, "if-match": '"7"'}
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == created["version"]
    changed = await client.patch(
        path,
        json={"name": "新名字", "weekly_hours": {"sat": [["10:00", "12:00"]]}},
        headers={**SUPERVISOR, "if-match": f'"{created["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == f'"{created["version"] + 1}"'
    assert changed.json()["weekly_hours"] == {"sat": [["10:00", "12:00"]]}
    read = await client.get(path, headers=AGENT)
    assert (read.json()["name"], read.headers["etag"]) == ("新名字", changed.headers["etag"])
    stale_holiday = await client.put(
        f"{path}/holidays/2026-12-01", headers={**SUPERVISOR, "if-match": '"1"'}
    )
    assert stale_holiday.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekly_hours": {"mon": [["18:00", "09:00"]]}}, "body.weekly_hours.mon"),
        (
            {"weekly_hours": {"tue": [["09:00", "13:00"], ["12:00", "18:00"]]}},
            "body.weekly_hours.tue",
        ),
        ({"weekly_hours": {"mon": [["24:00", "25:00"]]}}, "body.weekly_hours.mon.0.0"),
        ({"weekly_hours": {"mon": [["09:00+08:00", "18:00"]]}}, "body.weekly_hours.mon.0.0"),
        ({"weekly_hours": {"funday": [["09:00", "18:00"]]}}, "body.weekly_hours.funday.[key]"),
        ({"weekly_hours": {}}, "body.weekly_hours"),
        ({"timezone": "Mars/Olympus"}, "body.timezone"),
        ({"kind": "lunar"}, "body.kind"),
        ({"key": "Not A Slug"}, "body.key"),
        ({"key": ""}, "body.key"),
        ({"holidays": [{"date": "2026-02-30"}]}, "body.holidays.0.date"),
        (
            {"holidays": [{"date": "2026-12-01"}], "extra_workdays": [{"date": "2026-12-01"}]},
            "body.extra_workdays",
        ),
    ],
)
async def test_invalid_calendars_are_422_problems(client, body, field) -> None:
    response = await client.post(
        f"{BASE}/calendars", json={**WEEKLY_BODY, **body}, headers=SUPERVISOR
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_invalid_changes_are_422_and_change_nothing(client) -> None:
    await create(client)
    for body in (
        {"version": 1, "name": None},
        {"version": 1, "timezone": "Nowhere/Else"},
        {"version": 1, "key": "other"},
        {"version": 1, "weekly_hours": {"wed": [["09:00", "09:00"]]}},
    ):
        response = await client.patch(f"{BASE}/calendars/office", json=body, headers=SUPERVISOR)
        assert response.status_code == 422, (body, response.text)
    assert (await client.get(f"{BASE}/calendars/office", headers=AGENT)).json()["version"] == 1


async def test_calendar_keys_are_unique(client) -> None:
    await create(client)
    again = await client.post(f"{BASE}/calendars", json=WEEKLY_BODY, headers=SUPERVISOR)
    assert again.status_code == 409
    assert again.json()["type"].endswith("duplicate-calendar")


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/calendars/nowhere/preview", {"hours": 1}, 404),
        ("/calendars/default/preview", {"hours": 0}, 422),
        ("/calendars/default/preview", {"hours": "nan"}, 422),
        ("/calendars/default/preview", {"hours": 3000}, 422),
        ("/calendars/default/preview", {}, 422),
        ("/calendars/default/preview", {"hours": 1, "start": "yesterday"}, 422),
        ("/calendars/default/preview", {"hours": 2000, "start": "9999-12-31T00:00:00Z"}, 422),
    ],
)
async def test_preview_refusals(client, path, params, expected) -> None:
    response = await client.get(BASE + path, params=params, headers=AGENT)
    assert response.status_code == expected, response.text
    assert response.headers["content-type"] == PROBLEM


async def test_preview_defaults_to_now(client) -> None:
    response = await client.get(f"{BASE}/calendars/default/preview?hours=1.5", headers=AGENT)
    assert response.status_code == 200
    body = response.json()
    assert body["hours"] == 1.5 and body["due_at"] > body["start"]


TARGETS = [
    {"assign_minutes": 30, "first_response_minutes": 120, "resolve_minutes": 2880},
    {"ticket_type": "complaint", "assign_minutes": 5},
    {"priority": "high", "ticket_type": "tech_support", "resolve_minutes": 600},
]


async def test_targets_are_replaced_as_a_whole(client) -> None:
    read = await client.get(f"{BASE}/sla-targets", headers=AGENT)
    version = read.json()["version"]
    assert read.headers["etag"] == f'"{version}"'
    response = await client.put(
        f"{BASE}/sla-targets", json={"targets": TARGETS, "version": version}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] != version
    got = (await client.get(f"{BASE}/sla-targets", headers=AGENT)).json()["targets"]
    assert sorted((t["priority"] or "", t["ticket_type"] or "") for t in got) == [
        ("", ""),
        ("", "complaint"),
        ("high", "tech_support"),
    ]
    assert {t["updated_by"] for t in got} == {"u-admin"}


async def test_a_replacement_based_on_an_old_read_is_refused(client) -> None:
    """Two supervisors read the targets; the second to save must reload: nothing is lost."""
    version = (await client.get(f"{BASE}/sla-targets", headers=AGENT)).json()["version"]
    first = await client.put(
        f"{BASE}/sla-targets",
        json={"targets": TARGETS},
        headers={**ADMIN, "if-match": f'"{version}"'},
    )
    assert first.status_code == 200, first.text
    second = await client.put(
        f"{BASE}/sla-targets", json={"targets": TARGETS[:1], "version": version}, headers=ADMIN
    )
    assert second.status_code == 409
    assert second.json()["type"].endswith("stale-version")
    blind = await client.put(f"{BASE}/sla-targets", json={"targets": TARGETS}, headers=ADMIN)
    assert blind.status_code == 428
    assert len((await client.get(f"{BASE}/sla-targets", headers=AGENT)).json()["targets"]) == 3


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ([TARGETS[1]], "body.targets"),  # no default rule
        ([{"assign_minutes": 30, "resolve_minutes": 60}], "body.targets"),  # default incomplete
        ([TARGETS[0], TARGETS[1], TARGETS[1]], "body.targets.2"),  # a rule twice
        ([TARGETS[0], {"priority": "low"}], "body.targets.1"),  # a rule that sets nothing
        ([{**TARGETS[0], "assign_minutes": 0}], "body.targets.0.assign_minutes"),
        ([{**TARGETS[0], "resolve_minutes": 10**12}], "body.targets.0.resolve_minutes"),
        ([{**TARGETS[0], "priority": "urgent"}], "body.targets.0.priority"),
        ([], "body.targets"),
    ],
)
async def test_invalid_targets_are_422_and_keep_the_table(client, targets, field) -> None:
    response = await client.put(f"{BASE}/sla-targets", json={"targets": targets}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert field in [e["field"] for e in response.json()["errors"]]
    assert len((await client.get(f"{BASE}/sla-targets", headers=AGENT)).json()["targets"]) == 5
