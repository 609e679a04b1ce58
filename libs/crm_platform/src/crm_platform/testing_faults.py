"""Fault injection for tests and benchmarks: a private PostgreSQL instance that can be made
unreachable, broker faults (connections closed, application restarted), a handler made to fail
from inside the database, and ledgers that see every double application.

Test-only mechanism, like ``crm_platform.testing``; nothing here is imported by a service.

- ``TcpProxy``: a proxy on a free port in front of the shared PostgreSQL or RabbitMQ, cut or
  silenced by a test without touching the server itself.
- ``PrivatePostgres``: ``initdb`` into a temporary directory and a server on a free port, so
  stopping it (``-m immediate``: a crash, not a shutdown) disturbs nothing else on the machine.
  As root the server runs as the ``postgres`` OS user (PostgreSQL refuses to run as root).
- Broker faults act on the one shared RabbitMQ node: ``broker_app_stopped`` stops the
  application for every vhost. Callers serialise such runs (``flock /tmp/crm-broker.lock``);
  the broker is started again in a ``finally`` whatever happens.
- Ledgers: an AFTER INSERT trigger on ``inbox_message`` (and AFTER INSERT OR UPDATE on a replica
  table) appends to a table without a key. ``ON CONFLICT DO NOTHING`` never fires AFTER INSERT
  and the replica upsert writes only a newer version, so any repeat there is an event (or a
  version) applied twice. A rolled-back transaction takes its ledger rows with it.
- ``failing_writes``: a BEFORE INSERT OR UPDATE trigger that raises, so the handler writing
  that table fails as it would on a real error, with no test hook in the service's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from crm_platform.testing import free_port, rabbitmqctl

PG_USER = "postgres"
FAILURE_MESSAGE = "chaos: handler failure"


# --------------------------------------------------------------------------- PostgreSQL


def pg_bin_dir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: ``$CRM_TEST_PG_BIN``, the PATH, or the newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian keeps them off the PATH)."""
    configured = os.environ.get("CRM_TEST_PG_BIN")
    if configured:
        return Path(configured)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries (pg_ctl) found; set CRM_TEST_PG_BIN")
    return Path(candidates[-1]).parent


class PrivatePostgres:
    """A throwaway PostgreSQL server on a free port of 127.0.0.1, trust auth, user postgres.

    ``start()`` runs ``initdb`` the first time; ``stop()`` and ``start()`` again keep the
    data (``stop("immediate")`` is a crash: the next start recovers from the WAL);
    ``cleanup()`` stops it and removes the directory. The blocking methods run commands;
    call them through ``asyncio.to_thread`` from async code.
    """

    def __init__(self, *, port: int | None = None, fsync: bool = False) -> None:
        self.port = port or free_port()
        self._fsync = fsync
        self._bin = pg_bin_dir()
        self.base_dir = Path(tempfile.mkdtemp(prefix="crm-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.base_dir, user=PG_USER, group=PG_USER)
        self._initialised = False

    # ---- addresses

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def database_url(self, database: str) -> str:
        """The SQLAlchemy URL (asyncpg driver) the services take."""
        return self.dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)

    # ---- lifecycle

    def _run(self, program: str, *args: str, timeout: float = 120) -> str:
        command = [str(self._bin / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", PG_USER, "--", *command]
        done = subprocess.run(
            command,
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )
        return done.stdout

    def _server_options(self) -> str:
        return " ".join(
            [
                f"-p {self.port}",
                f"-k {self.base_dir}",
                "-c listen_addresses=127.0.0.1",
                f"-c fsync={'on' if self._fsync else 'off'}",
                "-c max_connections=300",
            ]
        )

    def start(self) -> None:
        if not self._initialised:
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                PG_USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
            self._initialised = True
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            self._server_options(),
            "-w",
            "-t",
            "120",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``immediate``: the server processes quit at once, as in a crash."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop")

    @property
    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def cleanup(self) -> None:
        """Stop (if running) and remove everything; safe to call more than once."""
        if self._initialised and self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)

    async def create_database(self, name: str) -> str:
        """Create a database; returns its SQLAlchemy URL."""
        connection = await asyncpg.connect(self.dsn())
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.database_url(name)


async def execute(dsn: str, *statements: str) -> None:
    """Run statements on one connection, in order (DDL, set-up)."""
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


# --------------------------------------------------------------------------- ledgers

INBOX_LEDGER = "chaos_inbox_ledger"
REPLICA_LEDGER = "chaos_replica_ledger"


def _inbox_ledger_sql() -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {INBOX_LEDGER}"
        " (event_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
        f"""CREATE OR REPLACE FUNCTION {INBOX_LEDGER}_append() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {INBOX_LEDGER} (event_id) VALUES (NEW.id);
                RETURN NULL;
            END $$""",
        f"DROP TRIGGER IF EXISTS {INBOX_LEDGER} ON inbox_message",
        f"CREATE TRIGGER {INBOX_LEDGER} AFTER INSERT ON inbox_message"
        f" FOR EACH ROW EXECUTE FUNCTION {INBOX_LEDGER}_append()",
    ]


def _replica_ledger_sql(table: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {REPLICA_LEDGER} (id uuid NOT NULL,"
        " source_version integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
        f"""CREATE OR REPLACE FUNCTION {REPLICA_LEDGER}_append() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {REPLICA_LEDGER} (id, source_version)
                VALUES (NEW.id, NEW.source_version);
                RETURN NULL;
            END $$""",
        f"DROP TRIGGER IF EXISTS {REPLICA_LEDGER} ON {table}",
        f"CREATE TRIGGER {REPLICA_LEDGER} AFTER INSERT OR UPDATE ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {REPLICA_LEDGER}_append()",
    ]


async def install_ledgers(dsn: str, *, replica_table: str | None = None) -> None:
    """The inbox ledger, and the replica ledger when ``replica_table`` is given."""
    statements = _inbox_ledger_sql()
    if replica_table is not None:
        statements += _replica_ledger_sql(replica_table)
    await execute(dsn, *statements)


async def ledger_repeats(dsn: str, *, replica: bool) -> dict[str, int]:
    """Event ids recorded more than once in the inbox ledger and, with ``replica``,
    (id, version) pairs written more than once to the replica."""
    connection = await asyncpg.connect(dsn)
    try:
        repeats = {
            "inbox": await connection.fetchval(
                f"SELECT count(*) FROM (SELECT event_id FROM {INBOX_LEDGER}"
                " GROUP BY event_id HAVING count(*) > 1) AS repeated"
            )
        }
        if replica:
            repeats["replica"] = await connection.fetchval(
                f"SELECT count(*) FROM (SELECT id, source_version FROM {REPLICA_LEDGER}"
                " GROUP BY id, source_version HAVING count(*) > 1) AS repeated"
            )
    finally:
        await connection.close()
    return {name: int(count) for name, count in repeats.items()}


# --------------------------------------------------------------------------- failing handler


@contextlib.asynccontextmanager
async def failing_writes(dsn: str, table: str) -> AsyncIterator[None]:
    """Every INSERT or UPDATE of ``table`` raises while inside the block; the trigger is
    dropped on the way out, whatever happened."""
    trigger = "chaos_failing_writes"
    await execute(
        dsn,
        "SET lock_timeout = '10s'",
        f"""CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{FAILURE_MESSAGE}';
            END $$""",
        f"CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {trigger}()",
    )
    try:
        yield
    finally:
        await execute(dsn, "SET lock_timeout = '10s'", f"DROP TRIGGER {trigger} ON {table}")


# --------------------------------------------------------------------------- broker


def close_all_connections(vhost: str, reason: str = "chaos") -> None:
    """Close every client connection of ``vhost`` (the clients see a forced close)."""
    rabbitmqctl("close_all_connections", "-p", vhost, reason)


def start_broker_app() -> None:
    """``start_app`` (a no-op when it runs) and wait until the node has fully booted."""
    rabbitmqctl("start_app", timeout=180)
    rabbitmqctl("await_startup", timeout=180)


@contextlib.asynccontextmanager
async def broker_app_stopped() -> AsyncIterator[None]:
    """The broker application stopped (every vhost: serialise with other users of the
    node) for the block; started again on the way out, even on errors or cancellation.

    The restart is blocking on purpose: a cancelled task must not leave the broker down."""
    try:
        await asyncio.to_thread(rabbitmqctl, "stop_app", timeout=180)
        yield
    finally:
        start_broker_app()


def queue_depths(vhost: str) -> dict[str, int]:
    """Messages (ready + unacknowledged) in each queue of ``vhost``."""
    output = rabbitmqctl("list_queues", "-q", "-s", "-p", vhost, "name", "messages")
    depths: dict[str, int] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths


# --------------------------------------------------------------------------- TCP


class TcpProxy:
    """A TCP proxy on a free local port in front of ``target`` (``host:port``), for cutting a
    dependency off without disturbing anything else on the machine.

    ``cut()`` closes every open connection and refuses new ones until ``restore()``;
    ``silence()`` accepts connections but never answers (a broker or database that hangs).
    """

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target_host, self.target_port = host, int(port)
        self.port = free_port()
        self.mode = "open"
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.mode = "cut"
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def silence(self) -> None:
        self.cut()
        self.mode = "silent"

    def restore(self) -> None:
        self.mode = "open"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            writer.transport.abort()
            return
        self._writers.add(writer)
        if self.mode == "silent":
            return  # held open, never answered, until cut() or close()
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


def through_proxy(url: str, proxy: TcpProxy) -> str:
    """``url`` (a database or AMQP URL on 127.0.0.1) pointed at ``proxy`` instead."""
    return url.replace(f"{proxy.target_host}:{proxy.target_port}", proxy.address, 1)
