"""Test helpers every service's suite uses: an isolated vhost and databases per run, free
ports, real service processes, and polling. Test-only, but mechanism, so it lives here."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import asyncpg
import httpx

T = TypeVar("T")

AMQP_HOST = os.environ.get("CRM_TEST_AMQP_HOST", "127.0.0.1:5672")
PG_ADMIN_DSN = os.environ.get("CRM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def create_vhost(name: str) -> str:
    """Create a vhost for one test run; returns its AMQP URL."""
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"amqp://guest:guest@{AMQP_HOST}/{quote(name, safe='')}"


def delete_vhost(name: str) -> None:
    rabbitmqctl("delete_vhost", name)


def _dsn_for(database: str) -> str:
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


async def create_database(name: str) -> str:
    """Create a PostgreSQL database; returns its SQLAlchemy URL (asyncpg driver)."""
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return _dsn_for(name).replace("postgresql://", "postgresql+asyncpg://", 1)


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    """Read a service's database directly (tests only: services never do this)."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = 20.0,
    interval: float = 0.1,
    message: str = "condition",
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``message`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value {last!r}")


@dataclass
class ServiceProcess:
    """One service run as a real process (``python -m crm_<name> serve``)."""

    name: str
    env: Mapping[str, str]
    port: int = field(default_factory=free_port)
    log_dir: Path = Path("var/test-logs")
    process: subprocess.Popen[bytes] | None = None

    @property
    def module(self) -> str:
        return "crm_" + self.name.replace("-", "_")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, *args: str) -> list[str]:
        return [sys.executable, "-m", self.module, *args]

    def migrate(self) -> None:
        subprocess.run(
            self._run("migrate"), env={**os.environ, **self.env}, check=True, capture_output=True
        )

    async def start(self, *, extra_env: Mapping[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{self.name}-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            self._run("serve", "--host", "127.0.0.1", "--port", str(self.port)),
            env={**os.environ, **self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        await self.wait_healthy()

    async def wait_healthy(self, timeout: float = 30.0) -> None:
        async def healthy() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    return (await client.get(self.url + "/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(healthy, timeout=timeout, message=f"{self.name} to answer /healthz")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush — a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
