"""The people the console's browser tests sign in as, created through the gateway's API.

One sales team (a manager and two reps who must not see each other's customers) and one
service team (a supervisor and an agent). They share one password, passed to the tests.
"""

from __future__ import annotations

import httpx

PASSWORD = "Console-pass-2026"
SALES_TEAM = "华东销售一组"
SERVICE_TEAM = "客服一组"

PEOPLE: list[dict[str, object]] = [
    {"username": username, "display_name": name, "roles": [role], "team": team}
    for username, name, role, team in (
        ("manager1", "周经理", "sales_manager", SALES_TEAM),
        ("rep1", "李销售", "sales_rep", SALES_TEAM),
        ("rep2", "王销售", "sales_rep", SALES_TEAM),
        ("supervisor1", "陈主管", "service_supervisor", SERVICE_TEAM),
        ("agent1", "赵客服", "service_agent", SERVICE_TEAM),
    )
]


async def create_console_people(gateway: str, admin: dict[str, str]) -> dict[str, str]:
    """Creates the people (the reps report to the manager); their ids by username."""
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=gateway, headers=admin, timeout=30) as client:
        for n, person in enumerate(PEOPLE):
            body = {
                **person,
                "password": PASSWORD,
                "email": f"{person['username']}@crm.example.com",
                "mobile": f"1380000{n:04d}",
            }
            if person["roles"] == ["sales_rep"]:
                body["manager_id"] = ids["manager1"]
            response = await client.post("/api/v1/users", json=body)
            response.raise_for_status()
            ids[str(person["username"])] = response.json()["id"]
    return ids
