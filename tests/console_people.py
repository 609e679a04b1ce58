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
    {"username": "manager1", "display_name": "周经理", "roles": ["sales_manager"], "team": SALES_TEAM},
    {"username": "rep1", "display_name": "李销售", "roles": ["sales_rep"], "team": SALES_TEAM},
    {"username": "rep2", "display_name": "王销售", "roles": ["sales_rep"], "team": SALES_TEAM},
    {
        "username": "supervisor1",
        "display_name": "陈主管",
        "roles": ["service_supervisor"],
        "team": SERVICE_TEAM,
    },
    {"username": "agent1", "display_name": "赵客服", "roles": ["service_agent"], "team": SERVICE_TEAM},
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
