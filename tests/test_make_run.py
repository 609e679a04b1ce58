"""`make run` from the checkout brings all five services up (fixed ports 8000-8004)."""

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from crm_platform.testing import create_vhost, delete_vhost, wait_until

ROOT = Path(__file__).resolve().parents[1]
PORTS = {
    "gateway": 8000,
    "customers": 8001,
    "engagement": 8002,
    "service-desk": 8003,
    "notifier": 8004,
}


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sqlite_rows(path: Path, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query, args).fetchall()


@pytest.fixture
def own_vhost(run_tag: str):
    """Its own vhost: the session's end-to-end services consume from the run's vhost."""
    name = f"crm-test-{run_tag}-make-run"
    yield create_vhost(name)
    delete_vhost(name)


@pytest.fixture
def free_standard_ports() -> None:
    busy = [port for port in PORTS.values() if _port_in_use(port)]
    assert not busy, f"ports {busy} are taken: stop the running `make run` before the suite"


async def test_make_run_starts_every_service(
    free_standard_ports, own_vhost: str, tmp_path: Path
) -> None:
    env = {**os.environ, "CRM_AMQP_URL": own_vhost, "CRM_LOG_LEVEL": "WARNING"}
    for name in PORTS:
        env[f"CRM_{name.upper().replace('-', '_')}_DATABASE_URL"] = (
            f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
        )
    log = (tmp_path / "make-run.log").open("wb")
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def all_ready() -> bool:
                assert process.poll() is None, (tmp_path / "make-run.log").read_text()
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
            listed = await client.get("http://127.0.0.1:8000/api/v1/customers")
            assert listed.status_code == 200, listed.text
            assert listed.json()["total"] == 0
            created = await client.post(
                "http://127.0.0.1:8000/api/v1/customers",
                json={"kind": "individual", "name": "王芳", "industry": "retail"},
            )
            assert created.status_code == 201, created.text
            customer_id = uuid.UUID(created.json()["id"]).hex
            for service in ("engagement", "service-desk"):  # the SQLite path of the event bus
                await wait_until(
                    lambda s=service: asyncio.to_thread(
                        _sqlite_rows,
                        tmp_path / f"{s}.db",
                        "SELECT name FROM customer_replica WHERE id = ?",
                        customer_id,
                    ),
                    message=f"{service} replica on SQLite",
                )
            for name, port in PORTS.items():
                metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                assert "http_requests_total{" in metrics, name
                assert "crm_events_published_total" in metrics or "crm_outbox_backlog" in metrics, (
                    name
                )
        printed = (tmp_path / "make-run.log").read_text()
        assert "http://127.0.0.1:8000" in printed
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert not any(_port_in_use(port) for port in PORTS.values()), "Ctrl-C left a service running"
