# ruff: noqa: F811 (pytest fixtures imported from engagement_fixtures)
"""Follow-up analytics on a fixed, hand-computed data set: every figure checked exactly.

Today is 1 June 2026 (the fake clock). Customers C1 to C3 are owned by u-a, C4 by u-b; u-a is
张三 and u-b 李四 in the user replica, u-x is unknown to it. Follow-ups, logged through the API:

| #  | occurred_on | customer | follower | method  | feedback | outcome  |
|----|-------------|----------|----------|---------|----------|----------|
| 1  | 2026-04-28  | C1       | u-a      | phone   | positive | continue |
| 2  | 2026-05-04  | C1       | u-a      | phone   | positive | continue |
| 3  | 2026-05-11  | C1       | u-a      | visit   | positive | priority |
| 4  | 2026-05-11  | C1       | u-b      | wechat  | neutral  | continue |
| 5  | 2026-05-25  | C1       | u-a      | meeting | positive | won      |
| 6  | 2026-05-06  | C2       | u-a      | email   | neutral  | paused   |
| 7  | 2026-05-20  | C2       | u-x      | phone   | negative | continue |
| 8  | 2026-05-15  | C3       | u-a      | phone   | neutral  | invalid  |
| 9  | 2026-05-02  | C4       | u-b      | sms     | neutral  | continue |
| 10 | 2026-05-13  | C4       | u-b      | phone   | positive | priority |
| 11 | 2026-06-01  | C4       | u-b      | visit   | positive | continue |

and two system follow-ups (resolved complaints): C3 on 2026-05-18 (follower u-a, C3's owner)
and C4 on 2026-04-10 (follower u-b).

May, everyone: #2 to #10, 9 follow-ups; phone 4 (#2 #7 #8 #10), visit, email, wechat, meeting,
sms 1 each; positive 4, neutral 4, negative 1; continue 4, priority 2, paused, won, invalid 1
each; u-a 5, u-b 3, u-x 1; customers 4. Gaps: C1 4 → 11 → 11 → 25 = 7, 0, 14; C2 6 → 20 = 14;
C3 one follow-up (its system one is no neighbour); C4 2 → 13 = 11. 46 days / 5 gaps = 9.20.
System: 1 (C3).

May, u-a: #2 #3 #5 #6 #8 = 5; gaps only C1 4 → 11 → 25 = 7, 14: 21 / 2 = 10.50; customers 3.
May, u-b: #4 #9 #10 = 3; gaps only C4 2 → 13 = 11: 11.00; customers 2 (C1's one has no
neighbour of u-b's).
All time, everyone: 11 follow-ups, 2 system. Gaps C1 6, 7, 0, 14 (27); C2 14; C4 11, 19 (30):
71 / 7 = 10.142… → 10.14.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from .engagement_fixtures import START, api, clock, handlers, quiet_settings, sessions  # noqa: F401
from .factories import ADMIN, MANAGER, VIEWER, apply, as_role, customer_state, event, log_followup
from .factories import rep as rep_headers

URL = "/v1/analytics/follow-ups"
MAY = {"date_from": "2026-05-01", "date_to": "2026-05-31"}

# (occurred_on, customer, follower, method, feedback, outcome)
FOLLOW_UPS = [
    ("2026-04-28", "C1", "u-a", "phone", "positive", "continue"),
    ("2026-05-04", "C1", "u-a", "phone", "positive", "continue"),
    ("2026-05-11", "C1", "u-a", "visit", "positive", "priority"),
    ("2026-05-11", "C1", "u-b", "wechat", "neutral", "continue"),
    ("2026-05-25", "C1", "u-a", "meeting", "positive", "won"),
    ("2026-05-06", "C2", "u-a", "email", "neutral", "paused"),
    ("2026-05-20", "C2", "u-x", "phone", "negative", "continue"),
    ("2026-05-15", "C3", "u-a", "phone", "neutral", "invalid"),
    ("2026-05-02", "C4", "u-b", "sms", "neutral", "continue"),
    ("2026-05-13", "C4", "u-b", "phone", "positive", "priority"),
    ("2026-06-01", "C4", "u-b", "visit", "positive", "continue"),
]
OWNERS = {"C1": "u-a", "C2": "u-a", "C3": "u-a", "C4": "u-b"}
USERS = {"u-a": "张三", "u-b": "李四"}
# (customer, resolved_at)
COMPLAINTS = [("C3", "2026-05-18T02:00:00Z"), ("C4", "2026-04-10T02:00:00Z")]


@pytest.fixture
async def dataset(api, sessions, handlers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    customers: dict[str, str] = {}
    for name, owner in OWNERS.items():
        state = customer_state(owner_id=owner)
        await apply(
            sessions, handlers, event("customer.created", state, time=START - timedelta(days=60))
        )
        customers[name] = state["id"]
    for n, (user, display_name) in enumerate(USERS.items()):
        data = {
            "id": user,
            "username": f"user{n}",
            "display_name": display_name,
            "roles": ["sales_rep"],
            "active": True,
            "version": 1,
        }
        await apply(sessions, handlers, event("user.created", data, service="gateway"))
    for occurred_on, customer, follower, method, feedback, outcome in FOLLOW_UPS:
        await log_followup(
            api,
            customers[customer],
            as_=ADMIN,
            occurred_on=occurred_on,
            follower_id=follower,
            method=method,
            feedback=feedback,
            outcome=outcome,
        )
    for customer, resolved_at in COMPLAINTS:
        ticket = {
            "id": str(uuid.uuid4()),
            "code": f"TK-{customer}",
            "customer_id": customers[customer],
            "complaint": True,
            "resolved_at": resolved_at,
        }
        await apply(sessions, handlers, event("ticket.resolved", ticket, service="service-desk"))
    return customers


async def _figures(api, headers=ADMIN, **params) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await api.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _people(figures: dict[str, Any]) -> list[tuple[str, str | None, int]]:
    return [(p["follower_id"], p["display_name"], p["count"]) for p in figures["by_person"]]


async def test_every_figure_of_may(api, dataset) -> None:  # type: ignore[no-untyped-def]
    figures = await _figures(api, headers=MANAGER, **MAY)
    assert figures == {
        "follower_id": None,
        "date_from": "2026-05-01",
        "date_to": "2026-05-31",
        "total": 9,
        "by_method": {
            "phone": 4,
            "visit": 1,
            "email": 1,
            "wechat": 1,
            "meeting": 1,
            "sms": 1,
        },
        "by_person": [
            {"follower_id": "u-a", "display_name": "张三", "count": 5},
            {"follower_id": "u-b", "display_name": "李四", "count": 3},
            {"follower_id": "u-x", "display_name": None, "count": 1},
        ],
        "by_feedback": {"positive": 4, "neutral": 4, "negative": 1},
        "by_outcome": {"continue": 4, "priority": 2, "paused": 1, "won": 1, "invalid": 1},
        "customers_followed_up": 4,
        "customers_with_repeat": 3,
        "gaps": 5,
        "average_days_between": "9.20",
        "system_count": 1,
    }


async def test_one_follower_and_all_time(api, dataset) -> None:  # type: ignore[no-untyped-def]
    a = await _figures(api, follower_id="u-a", **MAY)
    assert a["follower_id"] == "u-a" and a["total"] == 5
    assert a["by_method"] == {
        "phone": 2,
        "visit": 1,
        "email": 1,
        "wechat": 0,
        "meeting": 1,
        "sms": 0,
    }
    assert a["by_feedback"] == {"positive": 3, "neutral": 2, "negative": 0}
    assert a["by_outcome"] == {"continue": 1, "priority": 1, "paused": 1, "won": 1, "invalid": 1}
    assert _people(a) == [("u-a", "张三", 5)]
    assert (a["customers_followed_up"], a["customers_with_repeat"], a["gaps"]) == (3, 1, 2)
    assert a["average_days_between"] == "10.50"
    assert a["system_count"] == 1

    b = await _figures(api, headers=MANAGER, follower_id="u-b", **MAY)
    assert (b["total"], b["customers_followed_up"], b["customers_with_repeat"]) == (3, 2, 1)
    assert (b["gaps"], b["average_days_between"], b["system_count"]) == (1, "11.00", 0)

    everything = await _figures(api)
    assert everything["total"] == 11 and everything["system_count"] == 2
    assert _people(everything) == [("u-a", "张三", 6), ("u-b", "李四", 4), ("u-x", None, 1)]
    assert (everything["customers_followed_up"], everything["customers_with_repeat"]) == (4, 3)
    assert (everything["gaps"], everything["average_days_between"]) == (7, "10.14")


async def test_the_period_bounds_are_inclusive(api, dataset) -> None:  # type: ignore[no-untyped-def]
    one_day = await _figures(api, date_from="2026-05-11", date_to="2026-05-11")
    assert one_day["total"] == 2
    assert _people(one_day) == [("u-a", "张三", 1), ("u-b", "李四", 1)]
    # Two follow-ups of C1 on the same day: one gap of 0 days.
    assert (one_day["customers_followed_up"], one_day["gaps"]) == (1, 1)
    assert one_day["average_days_between"] == "0.00"

    since = await _figures(api, date_from="2026-05-25")  # #5 and #11
    assert since["total"] == 2 and since["gaps"] == 0 and since["average_days_between"] is None
    until = await _figures(api, date_to="2026-04-30")  # #1 and C4's complaint
    assert (until["total"], until["system_count"], until["customers_followed_up"]) == (1, 1, 1)


async def test_an_empty_period(api, dataset) -> None:  # type: ignore[no-untyped-def]
    march = await _figures(api, date_from="2026-03-01", date_to="2026-03-31")
    assert march["total"] == 0 and march["system_count"] == 0
    assert march["by_method"] == dict.fromkeys(
        ("phone", "visit", "email", "wechat", "meeting", "sms"), 0
    )
    assert march["by_feedback"] == {"positive": 0, "neutral": 0, "negative": 0}
    assert set(march["by_outcome"].values()) == {0} and march["by_person"] == []
    assert (march["customers_followed_up"], march["customers_with_repeat"], march["gaps"]) == (
        0,
        0,
        0,
    )
    assert march["average_days_between"] is None

    inverted = await api.get(
        URL, params={"date_from": "2026-05-31", "date_to": "2026-05-01"}, headers=ADMIN
    )
    assert inverted.status_code == 422
    assert inverted.headers["content-type"].startswith("application/problem+json")


async def test_a_rep_sees_only_their_own_figures(api, dataset) -> None:  # type: ignore[no-untyped-def]
    own = await _figures(api, headers=rep_headers("u-a"), **MAY)
    assert own["follower_id"] == "u-a" and own["total"] == 5
    assert _people(own) == [("u-a", "张三", 5)]
    named = await _figures(api, headers=rep_headers("u-a"), follower_id="u-a", **MAY)
    assert named == own

    other = await api.get(URL, params={"follower_id": "u-b"}, headers=rep_headers("u-a"))
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")

    for reader in (VIEWER, as_role("service_agent")):
        assert (await _figures(api, headers=reader, **MAY))["total"] == 9
