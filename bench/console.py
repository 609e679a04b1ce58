"""Web console list speed: every list loads a page of 50 in under 300 ms with 10,000 customers.

1. The five services start as real processes (tests/system.py, as the browser tests do) on
   a throwaway vhost and PostgreSQL databases, the built console (web/dist) served by the
   gateway; the console's people are created (tests/console_people.py).
2. 10,000 customers are bulk-loaded into the customers database with the customer search
   bench's loader (bench/customers_search.py: realistic names, industries, lifecycles,
   grades, sources, 5 years of dates; 200 owners, skewed), rep1 and rep2 being the two
   busiest owners. A few hundred more records are made through the API so the other lists
   have pages to turn: customers of rep1 (their events reach the replicas), follow-ups,
   opportunities and tickets on them.
3. **API**: each list call the console makes, page of 50, through the gateway with the
   person's token, sequentially after a warm-up: p50/p95 per list.
4. **Browser**: web/bench/list-timings.mjs in Debian's Chromium: for each list page, the time
   from clicking "next page" to its 50 rows on screen (API call + render), and the first
   load. Target: p95 < 300 ms for each.

Results: bench/results/console-latest.json. Run from the repository root:
``uv run --frozen python bench/console.py`` (``make bench-console``; builds nothing: run
``scripts/ensure_web.sh`` first, as ``make bench-console`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
for folder in (BENCH, BENCH.parent / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import httpx  # noqa: E402
from console_people import PASSWORD, create_console_people  # noqa: E402
from customers_search import Dataset, load, owner_ids  # noqa: E402
from reporting import REPO_ROOT, percentiles_ms, run_facts, write_results  # noqa: E402
from system import running_system  # noqa: E402

from crm_gateway.settings import DEV_ADMIN_PASSWORD  # noqa: E402
from crm_platform.testing import RunDatabases, create_vhost, delete_vhost, run_id, sign_in  # noqa: E402

TARGET_MS = 300
CUSTOMERS = 10_000
API_ROUNDS = 30
WEB = REPO_ROOT / "web"


async def seed_through_the_api(gateway: str, rep: dict[str, str], count: int) -> dict[str, int]:
    """Customers of rep1 made through the API (their events reach engagement and the service
    desk), then a follow-up, an opportunity and a ticket on each."""
    made = {"customers": 0, "follow_ups": 0, "opportunities": 0, "tickets": 0}
    async with httpx.AsyncClient(base_url=gateway, headers=rep, timeout=30) as client:
        ids = []
        for n in range(count):
            response = await client.post(
                "/api/v1/customers",
                json={
                    "kind": "individual",
                    "name": f"控制台客户{n:04d}",
                    "industry": "retail",
                    "allow_duplicate": True,  # the names are alike on purpose
                },
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        made["customers"] = len(ids)
        await asyncio.sleep(3)  # the replicas catch up (outbox sweep 0.5 s)
        close_on = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
        for customer_id in ids:
            for key, path, body in (
                ("follow_ups", "/api/v1/follow-ups", {
                    "customer_id": customer_id, "method": "phone", "feedback": "positive",
                    "summary": "电话沟通了采购需求; 客户对方案感兴趣, 约定下周演示。",
                }),
                ("opportunities", "/api/v1/opportunities", {
                    "customer_id": customer_id, "name": "年度采购项目",
                    "expected_amount": "120000.00", "expected_close_on": close_on,
                }),
                ("tickets", "/api/v1/tickets", {
                    "customer_id": customer_id, "ticket_type": "consultation",
                    "title": "咨询开票流程", "description": "客户询问如何开具增值税专用发票。",
                }),
            ):  # fmt: skip
                response = await client.post(path, json=body)
                if response.is_success:
                    made[key] += 1
                elif made[key] == 0 and customer_id == ids[-1]:
                    print(f"  seeding {path} refused: {response.status_code} {response.text[:300]}")
    return made


API_LISTS: list[tuple[str, str, str, dict[str, Any]]] = [
    # name, person, path, query (page_size 50; `page` drawn per round)
    ("customers: all, newest first (admin)", "admin", "/api/v1/customers", {}),
    ("customers: own, newest first (rep)", "rep1", "/api/v1/customers", {}),
    ("customers: manager (every rep's)", "manager1", "/api/v1/customers", {}),
    ("customers: name search (admin)", "admin", "/api/v1/customers", {"q": "科技"}),
    ("customers: filters + sort (admin)", "admin", "/api/v1/customers",
     {"lifecycle": "won", "industry": "manufacturing", "sort": "name"}),
    ("follow-ups (rep)", "rep1", "/api/v1/follow-ups", {}),
    ("opportunities (rep)", "rep1", "/api/v1/opportunities", {}),
    ("tickets (supervisor)", "supervisor1", "/api/v1/tickets", {}),
    ("notifications (rep)", "rep1", "/api/v1/notifications", {}),
    ("users (admin)", "admin", "/api/v1/users", {}),
    ("change requests (manager)", "manager1", "/api/v1/change-requests", {}),
]  # fmt: skip


async def measure_api(gateway: str, headers: dict[str, dict[str, str]]) -> dict[str, Any]:
    rng = random.Random(7)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        for name, person, path, query in API_LISTS:
            params = {**query, "page_size": 50, "page": 1}
            first = await client.get(path, params=params, headers=headers[person])
            if not first.is_success:
                out[name] = {"error": f"{first.status_code} {first.text[:200]}"}
                continue
            total = first.json().get("total", len(first.json().get("items", [])))
            pages = max(1, min(200, -(-int(total) // 50)))
            durations = []
            for _ in range(API_ROUNDS):
                params["page"] = rng.randint(1, pages)
                start = time.perf_counter()
                response = await client.get(path, params=params, headers=headers[person])
                durations.append(time.perf_counter() - start)
                response.raise_for_status()
            out[name] = {**percentiles_ms(durations), "total": total}
    return out


# `expect`: the rows a turned page shows at least (the smaller lists' last page is short).
BROWSER_LISTS = [
    {"name": "customers (admin, 10,000)", "path": "/customers", "user": "admin", "expect": 50},
    {"name": "customers (rep1, own)", "path": "/customers", "user": "rep1", "expect": 50},
    {"name": "customers (manager1, every rep's)", "path": "/customers", "user": "manager1",
     "expect": 50},
    {"name": "follow-ups (rep1)", "path": "/follow-ups", "user": "rep1", "expect": 10},
    {"name": "opportunities list (rep1)", "path": "/opportunities?view=list", "user": "rep1",
     "expect": 10},
    {"name": "tickets, all (supervisor1)", "path": "/tickets?view=all", "user": "supervisor1",
     "expect": 10},
]  # fmt: skip


def measure_browser(gateway: str, lists: list[dict[str, Any]]) -> dict[str, Any]:
    passwords = {"admin": DEV_ADMIN_PASSWORD} | {
        p: PASSWORD for p in ("rep1", "rep2", "manager1", "supervisor1", "agent1")
    }
    done = subprocess.run(
        ["node", "bench/list-timings.mjs"],
        cwd=WEB,
        env={**os.environ, "CRM_CONSOLE_URL": gateway, "LISTS": json.dumps(lists),
             "PASSWORDS": json.dumps(passwords)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    print(done.stderr.strip())  # each list's progress
    if done.returncode != 0:
        return {"error": done.stderr[-3000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = run_id()
    vhost = f"crm-bench-console-{tag}"
    amqp_url = create_vhost(vhost)
    databases = RunDatabases(tag)
    try:
        async with running_system(databases.new, amqp_url) as system:
            ids = await create_console_people(system.gateway, system.admin)
            owners = [ids["rep1"], ids["rep2"], *owner_ids()[2:]]
            started = time.perf_counter()
            await load(
                system.database_urls["customers"], Dataset(rows=args.customers, owners=owners)
            )
            loaded_s = time.perf_counter() - started
            people = {"admin": system.admin}
            for person in ("rep1", "manager1", "supervisor1"):
                people[person] = await sign_in(system.gateway, person, PASSWORD)
            seeded = await seed_through_the_api(system.gateway, people["rep1"], args.api_records)
            api = await measure_api(system.gateway, people)
            browser = measure_browser(system.gateway, BROWSER_LISTS)
    finally:
        await databases.drop_all()
        delete_vhost(vhost)
    return {
        "benchmark": "console",
        **run_facts(),
        "customers": args.customers,
        "bulk_load_s": round(loaded_s, 1),
        "seeded_through_api": seeded,
        "target_ms": TARGET_MS,
        "api_page_of_50_ms": api,
        "browser_ms": browser,
    }


def summary(result: dict[str, Any]) -> str:
    lines = [f"console lists, {result['customers']:,} customers (target p95 < {TARGET_MS} ms)"]
    for name, figures in result["api_page_of_50_ms"].items():
        if "error" in figures:
            lines.append(f"  API  {name:44s} ERROR {figures['error']}")
        else:
            lines.append(
                f"  API  {name:44s} p50 {figures.get('p50')} ms  p95 {figures.get('p95')} ms"
                f"  (total {figures['total']})"
            )
    browser = result["browser_ms"]
    if "error" in browser:
        lines.append(f"  browser ERROR {browser['error']}")
    else:
        for name, figures in browser.items():
            lines.append(
                f"  page {name:44s} next page p50 {figures['next_page_p50_ms']} ms"
                f"  p95 {figures['next_page_p95_ms']} ms  first load {figures['first_load_ms']} ms"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument(
        "--api-records",
        type=int,
        default=60,
        help="customers made through the API, each with a follow-up, opportunity, ticket",
    )
    result = asyncio.run(run(parser.parse_args()))
    path = write_results("console", result)
    print(summary(result))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
