"""`make run` from the checkout: all five services up on the fixed ports 8000-8004, on SQLite,
and their outboxes drain whatever the customers service emits.

One `make run` serves the whole module (starting it costs most of the time); it is stopped
with Ctrl-C (SIGINT to its process group) at the end, which must leave no service running.
"""

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from crm_gateway.settings import DEV_ADMIN_PASSWORD, DEV_ADMIN_USERNAME
from crm_platform.testing import create_vhost, delete_vhost, sign_in, wait_until

ROOT = Path(__file__).resolve().parents[1]
PORTS = {
    "gateway": 8000,
    "customers": 8001,
    "engagement": 8002,
    "service-desk": 8003,
    "notifier": 8004,
}
GATEWAY = "http://127.0.0.1:8000"
CUSTOMERS_API = f"{GATEWAY}/api/v1/customers"
ID_NUMBER = "11010519491231002X"  # GB 11643's own example: a valid resident ID number
MASKED_ID_NUMBER = "1101**********002X"
# The relay refreshes crm_outbox_backlog every CRM_OUTBOX_SWEEP_SECONDS (2 s by default): a
# value read sooner after a commit may be one measured before it.
GAUGE_REFRESH_SECONDS = 2.0
BACKLOG_TIMEOUT_SECONDS = 15.0
BACKLOG_LINE = re.compile(r"^crm_outbox_backlog (\S+)$", re.MULTILINE)


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sqlite_rows(path: Path, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query, args).fetchall()


@dataclass(frozen=True)
class MakeRun:
    """A running `make run`: its process and the directory of its databases and log."""

    process: subprocess.Popen[bytes]
    directory: Path
    admin: dict[str, str] = field(default_factory=dict)  # the development admin, signed in

    def database(self, service: str) -> Path:
        return self.directory / f"{service}.db"

    @property
    def log(self) -> str:
        return (self.directory / "make-run.log").read_text()


@pytest.fixture(scope="module")
def own_vhost(run_tag: str) -> Iterator[str]:
    """Its own vhost: the session's end-to-end services consume from the run's vhost."""
    name = f"crm-test-{run_tag}-make-run"
    yield create_vhost(name)
    delete_vhost(name)


@pytest.fixture(scope="module")
def free_standard_ports() -> None:
    busy = [port for port in PORTS.values() if _port_in_use(port)]
    assert not busy, f"ports {busy} are taken: stop the running `make run` before the suite"


async def _wait_until_ready(run: MakeRun) -> None:
    async with httpx.AsyncClient(timeout=5) as client:

        async def all_ready() -> bool:
            assert run.process.poll() is None, run.log
            try:
                for port in PORTS.values():
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code != 200:
                        return False
            except httpx.HTTPError:
                return False
            return True

        await wait_until(
            all_ready, timeout=120, interval=0.5, message="make run: five ready services"
        )


def _stop_with_ctrl_c(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


@pytest.fixture(scope="module")
async def make_run(
    free_standard_ports: None, own_vhost: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MakeRun]:
    """`make run` on fresh SQLite files and its own vhost, ready on all five ports, with no
    customer yet; Ctrl-C at the end must stop every service."""
    directory = tmp_path_factory.mktemp("make-run")
    env = {
        **os.environ,
        "CRM_AMQP_URL": own_vhost,
        "CRM_LOG_LEVEL": "WARNING",
    }
    for name in PORTS:
        env[f"CRM_{name.upper().replace('-', '_')}_DATABASE_URL"] = (
            f"sqlite+aiosqlite:///{directory}/{name}.db"
        )
    with (directory / "make-run.log").open("wb") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = MakeRun(process, directory)
    try:
        await _wait_until_ready(run)
        # The development login `make run` prints; the admin's identity reaches the services,
        # whose default CRM_UNMASK_ROLES (admin) then lets a read show sensitive fields.
        run.admin.update(await sign_in(GATEWAY, DEV_ADMIN_USERNAME, DEV_ADMIN_PASSWORD))
        async with httpx.AsyncClient(timeout=5, headers=run.admin) as client:
            listed = await client.get(CUSTOMERS_API)
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == 0
        yield run
    finally:
        _stop_with_ctrl_c(process)
    assert not any(_port_in_use(port) for port in PORTS.values()), "Ctrl-C left a service running"


async def test_make_run_starts_every_service(make_run: MakeRun) -> None:
    """All five services answer on their fixed ports, a customer created at the gateway reaches
    the replicas of engagement and service-desk over the event bus on SQLite, every service
    exposes its metrics, and `make run` prints where the gateway is."""
    async with httpx.AsyncClient(timeout=5, headers=make_run.admin) as client:
        created = await client.post(
            CUSTOMERS_API, json={"kind": "individual", "name": "王芳", "industry": "retail"}
        )
        assert created.status_code == 201, created.text
        customer_id = uuid.UUID(created.json()["id"]).hex
        for service in ("engagement", "service-desk"):  # the SQLite path of the event bus
            await wait_until(
                lambda s=service: asyncio.to_thread(
                    _sqlite_rows,
                    make_run.database(s),
                    "SELECT name FROM customer_replica WHERE id = ?",
                    customer_id,
                ),
                message=f"{service} replica on SQLite",
            )
        for name, port in PORTS.items():
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            assert "http_requests_total{" in metrics, name
            assert "crm_events_published_total" in metrics or "crm_outbox_backlog" in metrics, name
    assert "http://127.0.0.1:8000" in make_run.log
    assert DEV_ADMIN_PASSWORD in make_run.log  # the development login


async def test_make_run_builds_and_serves_the_web_console(make_run: MakeRun) -> None:
    """`make run` builds web/ (Node.js is on this machine; the script installs it where not)
    and the gateway serves the console at / and its pages by their own paths."""
    assert "http://127.0.0.1:8000/" in make_run.log
    async with httpx.AsyncClient(timeout=5) as client:
        for page in ("/", "/customers"):
            response = await client.get(GATEWAY + page)
            assert response.status_code == 200, page
            assert '<div id="app"></div>' in response.text
            script = re.search(r'src="(/assets/[^"]+\.js)"', response.text)
            assert script, response.text
        asset = await client.get(GATEWAY + script.group(1))
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]


# --- the outbox drains events nobody consumes ---------------------------------------------


def _succeeded(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json()


def _grading_scores(customers_db: Path) -> list[dict[str, str]]:
    """Full marks on every active grading indicator. The indicators come from the customers
    database: the gateway does not route `/api/v1/grading/...`."""
    rows = _sqlite_rows(
        customers_db, "SELECT id, max_score FROM grading_indicator WHERE active ORDER BY sort_order"
    )
    assert rows, "no active grading indicator was seeded"
    return [
        {"indicator_id": str(uuid.UUID(hex=str(id_))), "score": str(Decimal(str(max_score)))}
        for id_, max_score in rows
    ]


async def _outbox_backlogs(client: httpx.AsyncClient) -> dict[str, float | None]:
    """Each service's crm_outbox_backlog (None: the service does not expose it)."""
    backlogs: dict[str, float | None] = {}
    for name, port in PORTS.items():
        metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        match = BACKLOG_LINE.search(metrics)
        backlogs[name] = float(match.group(1)) if match else None
    return backlogs


async def _wait_for_empty_outboxes(client: httpx.AsyncClient, deadline: float) -> None:
    """Poll every service's /metrics until crm_outbox_backlog is 0 on all five, failing at
    ``deadline`` (time.monotonic) with the values seen last."""
    while True:
        backlogs = await _outbox_backlogs(client)
        if all(backlog == 0 for backlog in backlogs.values()):
            return
        if time.monotonic() >= deadline:
            pytest.fail(f"crm_outbox_backlog is not 0 on every service; last seen: {backlogs}")
        await asyncio.sleep(0.5)


def _outbox_rows(customers_db: Path) -> list[tuple[str, str, bool]]:
    """(routing key, subject, published) of every row of the customers outbox."""
    rows = _sqlite_rows(customers_db, "SELECT routing_key, body, published_at FROM outbox_message")
    return [(key, json.loads(body)["subject"], at is not None) for key, body, at in rows]


async def test_events_nobody_consumes_leave_no_outbox_backlog(make_run: MakeRun) -> None:
    """Unmasking an ID number, grading, the quarterly review and changing a contact emit events
    no service consumes (`customer.sensitive_read`, `customer.graded`, `customer.reviewed`,
    `contact.changed`); they are written to the customers outbox, published (the events
    exchange's alternate exchange takes them), and crm_outbox_backlog is 0 on every service
    within seconds."""
    customers_db = make_run.database("customers")
    async with httpx.AsyncClient(timeout=10, headers=make_run.admin) as client:
        customer = _succeeded(
            await client.post(
                CUSTOMERS_API,
                json={
                    "kind": "individual",
                    "name": "李娜",
                    "industry": "retail",
                    "id_number": ID_NUMBER,
                    "contacts": [{"name": "李娜", "mobile": "13912345678"}],
                },
            ),
            201,
        )
        assert customer["id_number"] == MASKED_ID_NUMBER
        url = f"{CUSTOMERS_API}/{customer['id']}"

        unmasked = _succeeded(await client.get(url), 200)
        assert unmasked["id_number"] == ID_NUMBER

        scores = await asyncio.to_thread(_grading_scores, customers_db)
        evaluation = _succeeded(
            await client.post(f"{url}/evaluations", json={"scores": scores}), 201
        )
        assert evaluation["grade"] == "A"

        reviewed = _succeeded(
            await client.post(
                f"{url}/review", json={"activity_status": "active", "note": "季度回访正常"}
            ),
            200,
        )
        assert reviewed["activity_status"] == "active"

        [contact] = _succeeded(await client.get(f"{url}/contacts"), 200)
        changed = _succeeded(
            await client.patch(
                f"{url}/contacts/{contact['id']}",
                json={"version": contact["version"], "position": "采购经理"},
            ),
            200,
        )
        assert changed["position"] == "采购经理"

        deadline = time.monotonic() + BACKLOG_TIMEOUT_SECONDS
        await asyncio.sleep(GAUGE_REFRESH_SECONDS + 0.5)  # every gauge measured after the actions
        await _wait_for_empty_outboxes(client, deadline)

    rows = await asyncio.to_thread(_outbox_rows, customers_db)
    pending = [(key, subject) for key, subject, is_published in rows if not is_published]
    assert pending == [], "customers outbox rows still pending"
    expected = {
        ("customer.sensitive_read", customer["id"]),
        ("customer.graded", customer["id"]),
        ("customer.reviewed", customer["id"]),
        ("contact.changed", contact["id"]),
    }
    published = {(key, subject) for key, subject, is_published in rows if is_published}
    assert expected <= published, f"not written or not published: {expected - published}"
