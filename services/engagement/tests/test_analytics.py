"""Pipeline analytics on a fixed, hand-computed data set: every figure checked exactly.

Owner u-a has eight opportunities (the funnel each reached, from its stage history):

| # | stage now     | expected | prob | history                                  | furthest |
|---|---------------|----------|------|------------------------------------------|----------|
| 1 | initial       | 1000.00  | 10   | initial                                  | 0        |
| 2 | needs         | 2000.00  | 25   | initial → needs                          | 1        |
| 3 | proposal      | 3000.00  | 60   | initial → needs → proposal               | 2        |
| 4 | negotiation   | 4000.50  | 75   | initial → proposal → negotiation         | 3        |
| 5 | won (5100.00) | 5000.00  | 100  | initial → needs → proposal → nego → won  | 4        |
| 6 | won (5900.00) | 6000.00  | 100  | proposal → won                           | 4        |
| 7 | lost (compet.)| 7000.00  | 0    | initial → needs → lost                   | 1        |
| 8 | lost (budget) | 800.00   | 0    | initial → lost                           | 0        |

Weighted: 100.00, 500.00, 1800.00, 3000.375 → 3000.38 (half up); open pipeline 5400.38.
Reached ≥ rank k: 8, 6, 4, 3, 2 → conversions 0.7500, 0.6667, 0.7500, 0.6667.
Win rate 2 / 4 = 0.5000; won 11000.00 actual; cycle (10 + 5.5) / 2 = 7.75 days.
Owner u-b has one more: initial, 100000.00 at 10 %, created in March.
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from crm_engagement.db.opportunity_models import Opportunity, OpportunityStageChange

from .factories import ADMIN, MANAGER, as_role, rep, seed_customer


def _t(day: int, hour: int = 12, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# (owner, stage, expected, probability, actual, lost_reason, created, closed, path)
DATA = [
    ("u-a", "initial_contact", "1000.00", 10, None, None, _t(2), None, ["initial_contact"]),
    ("u-a", "needs_analysis", "2000.00", 25, None, None, _t(3), None,
     ["initial_contact", "needs_analysis"]),
    ("u-a", "proposal", "3000.00", 60, None, None, _t(4), None,
     ["initial_contact", "needs_analysis", "proposal"]),
    ("u-a", "negotiation", "4000.50", 75, None, None, _t(5), None,
     ["initial_contact", "proposal", "negotiation"]),
    ("u-a", "won", "5000.00", 100, "5100.00", None, _t(1, 0), _t(11, 0),
     ["initial_contact", "needs_analysis", "proposal", "negotiation", "won"]),
    ("u-a", "won", "6000.00", 100, "5900.00", None, _t(5, 0), _t(10, 12), ["proposal", "won"]),
    ("u-a", "lost", "7000.00", 0, None, "competitor", _t(2), _t(20),
     ["initial_contact", "needs_analysis", "lost"]),
    ("u-a", "lost", "800.00", 0, None, "budget", _t(6), _t(15), ["initial_contact", "lost"]),
    ("u-b", "initial_contact", "100000.00", 10, None, None, _t(1, month=3), None,
     ["initial_contact"]),
]  # fmt: skip


@pytest.fixture
async def dataset(settings) -> None:
    customer = await seed_customer(settings.database_url, owner_id="u-a")
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as connection:
        for n, (owner, stage, exp, prob, actual, reason, created, closed, path) in enumerate(
            DATA, start=1
        ):
            opportunity_id = uuid.uuid4()
            await connection.execute(
                Opportunity.__table__.insert().values(
                    id=opportunity_id,
                    code=f"{customer['code']}OP{n:02d}",
                    customer_id=customer["id"],
                    serial=n,
                    name=f"项目 {n}",
                    expected_amount=Decimal(exp),
                    stage=stage,
                    probability=prob,
                    competitors=[],
                    owner_id=owner,
                    actual_amount=Decimal(actual) if actual else None,
                    contract_number="HT-1" if actual else None,
                    lost_reason=reason,
                    created_by=owner,
                    created_at=created,
                    updated_at=closed or created,
                    closed_at=closed,
                    version=1,
                )
            )
            previous = None
            for step, to in enumerate(path):
                await connection.execute(
                    OpportunityStageChange.__table__.insert().values(
                        id=uuid.uuid4(),
                        opportunity_id=opportunity_id,
                        from_stage=previous,
                        to_stage=to,
                        note="step",
                        changed_by=owner,
                        changed_at=created.replace(minute=step),
                        expected_amount=Decimal(exp),
                        probability=prob,
                    )
                )
                previous = to
    await engine.dispose()


async def _pipeline(client, headers=ADMIN, **params) -> dict:
    response = await client.get("/v1/analytics/pipeline", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_figure_of_one_owner(client, dataset) -> None:
    figures = await _pipeline(client, owner_id="u-a")
    stages = {s["stage"]: s for s in figures["stages"]}
    assert {
        k: (v["count"], v["expected_amount"], v["weighted_amount"]) for k, v in stages.items()
    } == {
        "initial_contact": (1, "1000.00", "100.00"),
        "needs_analysis": (1, "2000.00", "500.00"),
        "proposal": (1, "3000.00", "1800.00"),
        "negotiation": (1, "4000.50", "3000.38"),
        "won": (2, "11000.00", "11000.00"),
        "lost": (2, "7800.00", "0.00"),
    }
    assert figures["open_count"] == 4
    assert figures["open_expected_amount"] == "10000.50"
    assert figures["weighted_pipeline"] == "5400.38"
    assert [
        (c["from_stage"], c["to_stage"], c["reached_from"], c["reached_to"], c["rate"])
        for c in figures["conversions"]
    ] == [
        ("initial_contact", "needs_analysis", 8, 6, "0.7500"),
        ("needs_analysis", "proposal", 6, 4, "0.6667"),
        ("proposal", "negotiation", 4, 3, "0.7500"),
        ("negotiation", "won", 3, 2, "0.6667"),
    ]
    assert (figures["won_count"], figures["lost_count"]) == (2, 2)
    assert figures["win_rate"] == "0.5000"
    assert figures["won_amount"] == "11000.00"
    assert figures["average_cycle_days"] == "7.75"
    assert figures["lost_reasons"] == {
        "budget": 1,
        "competitor": 1,
        "timing": 0,
        "no_decision": 0,
        "requirements": 0,
        "other": 0,
    }


async def test_all_owners_and_the_periods(client, dataset) -> None:
    everyone = await _pipeline(client, headers=MANAGER)
    initial = next(s for s in everyone["stages"] if s["stage"] == "initial_contact")
    assert (initial["count"], initial["expected_amount"], initial["weighted_amount"]) == (
        2,
        "101000.00",
        "10100.00",
    )
    assert everyone["conversions"][0]["reached_from"] == 9
    assert everyone["weighted_pipeline"] == "15400.38"

    march = await _pipeline(client, date_from="2026-02-01", date_to="2026-03-31")
    assert march["open_count"] == 1 and march["won_count"] == 0
    assert march["win_rate"] is None and march["average_cycle_days"] is None

    # Closed on 10 January in Shanghai: #6 (20:00 local); #5 closed at 08:00 on the 11th.
    closed = await _pipeline(client, basis="closed", date_from="2026-01-10", date_to="2026-01-10")
    assert (closed["won_count"], closed["lost_count"], closed["win_rate"]) == (1, 0, "1.0000")
    assert closed["average_cycle_days"] == "5.50"
    assert closed["open_count"] == 0

    closed_all = await _pipeline(client, basis="closed")
    assert (closed_all["won_count"], closed_all["lost_count"], closed_all["open_count"]) == (
        2,
        2,
        0,
    )

    empty = await client.get(
        "/v1/analytics/pipeline",
        params={"date_from": "2026-02-01", "date_to": "2026-01-01"},
        headers=ADMIN,
    )
    assert empty.status_code == 422


async def test_a_rep_sees_only_their_own_figures(client, dataset) -> None:
    own = await _pipeline(client, headers=rep("u-a"))
    assert own["owner_id"] == "u-a" and own["weighted_pipeline"] == "5400.38"
    other = await client.get(
        "/v1/analytics/pipeline", params={"owner_id": "u-b"}, headers=rep("u-a")
    )
    assert other.status_code == 403
    agent = await client.get("/v1/analytics/pipeline", headers=as_role("service_agent"))
    assert agent.status_code == 200
