"""End to end through the gateway: a complaint's life across services (SPEC §3, §4) — opened
on a customer the service desk learnt of by events, handed to the supervisor, in the
customer's 360 view while open, resolved (engagement writes it onto the customer's follow-up
history), closed, the survey emailed by the notifier to the customer's contact (a real SMTP
server), and scored by the customer from the link in that email without signing in."""

import re
import uuid

import httpx

from crm_platform.testing import fetch, wait_until

CONTACT = {"name": "周建国", "email": "zhou.jianguo@example.com", "is_primary": True}
CUSTOMER = {
    "kind": "enterprise",
    "name": "宁波海曙精工机械有限公司",
    "industry": "manufacturing",
    "allow_duplicate": True,
}


async def _replicated(system, customer_id: str) -> list:
    return await fetch(
        system.database_urls["service-desk"],
        "SELECT id FROM customer_replica WHERE id = $1",
        uuid.UUID(customer_id),
    )


async def _survey_mail(system, code: str) -> str | None:
    """The body of the survey email of ticket ``code``, once the notifier has sent it."""
    for mail in system.mail.mails:
        body = mail.get_body(("plain",)).get_content()
        if code in body and mail["To"] == CONTACT["email"]:
            return body
    return None


async def test_a_complaint_from_opening_to_the_customers_score(system) -> None:
    async with httpx.AsyncClient(base_url=system.gateway, headers=system.admin, timeout=10) as c:
        customer = (await c.post("/api/v1/customers", json=CUSTOMER)).json()
        contact = await c.post(f"/api/v1/customers/{customer['id']}/contacts", json=CONTACT)
        assert contact.status_code == 201, contact.text
        await wait_until(lambda: _replicated(system, customer["id"]), message="replica")
        admin_id = (await c.get("/api/v1/auth/me")).json()["id"]
        teams = (await c.get("/api/v1/service-desk/teams")).json()
        default = next(t for t in teams if t["key"] == "default")
        saved = await c.put(
            "/api/v1/service-desk/teams/default",
            json={
                "name": default["name"],
                "supervisor_id": admin_id,
                "version": default["version"],
            },
        )
        assert saved.status_code == 200, saved.text

        opened = await c.post(
            "/api/v1/tickets",
            json={
                "customer_id": customer["id"],
                "ticket_type": "complaint",
                "mood": "agitated",
                "cause": "delivery_delay",
                "description": "客户投诉: 订购的轴承延迟两周未到货, 生产线被迫停工",
            },
        )
        assert opened.status_code == 201, opened.text
        ticket = opened.json()
        assert (ticket["priority"], ticket["urgent"], ticket["assignee_id"]) == (
            "high",
            True,
            admin_id,
        )

        view = (await c.get(f"/api/v1/customers/{customer['id']}/360")).json()
        assert [t["id"] for t in view["open_tickets"]["items"]] == [ticket["id"]]

        contacted = await c.post(
            f"/api/v1/tickets/{ticket['id']}/log",
            json={"note": "已致电客户致歉并确认加急发货", "contacted_customer": True},
        )
        assert contacted.status_code == 200, contacted.text
        resolved = await c.post(
            f"/api/v1/tickets/{ticket['id']}/resolve",
            json={
                "resolution": "加急补发轴承, 客户确认收货",
                "version": contacted.json()["version"],
            },
        )
        assert resolved.status_code == 200, resolved.text

        async def complaint_in_history() -> list:
            found = await c.get("/api/v1/follow-ups", params={"customer_id": customer["id"]})
            return [f for f in found.json()["items"] if ticket["code"] in f["summary"]]

        [entry] = await wait_until(complaint_in_history, message="engagement's follow-up")
        assert entry["method"] == "system"

        closed = await c.post(
            f"/api/v1/tickets/{ticket['id']}/close", json={"version": resolved.json()["version"]}
        )
        assert closed.status_code == 200, closed.text

    body = await wait_until(
        lambda: _survey_mail(system, ticket["code"]), timeout=20, message="survey email"
    )
    [link] = re.findall(r"https?://\S+/survey/\S+", body)
    token = link.rsplit("/survey/", 1)[1]
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as public:  # no sign-in
        shown = await public.get(f"/api/v1/surveys/{token}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["code"] == ticket["code"]
        answered = await public.post(
            f"/api/v1/surveys/{token}", json={"score": 4, "comment": "处理及时, 态度很好"}
        )
        assert answered.status_code == 200, answered.text
        assert (await public.post(f"/api/v1/surveys/{token}", json={"score": 5})).status_code == 409
        assert (await public.get(f"/api/v1/tickets/{ticket['id']}")).status_code == 401
    async with httpx.AsyncClient(base_url=system.gateway, headers=system.admin, timeout=10) as c:
        scored = (await c.get(f"/api/v1/tickets/{ticket['id']}")).json()
        assert scored["satisfaction"] == 4
