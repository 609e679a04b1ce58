"""The command line each service installs as ``crm-<service>``: serve, migrate, topology,
makemigration.

``migrate`` is the deploy step: it applies the database migrations and declares the broker
topology (the events exchange, and the service's queues and bindings), so an event published
before the service first starts already has its queue to wait in.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import uvicorn

from crm_platform.events.topology import declare_topology
from crm_platform.migrations import make_revision, upgrade
from crm_platform.runtime import topology_of, tune_garbage_collector_after_startup
from crm_platform.settings import PlatformSettings

ConsumedTypes = Callable[[PlatformSettings], Iterable[str]]


def run_cli(
    *,
    settings_factory: Callable[[], PlatformSettings],
    app_factory: str,
    migrations_dir: Path,
    default_port: int,
    consumed_types: ConsumedTypes | None = None,
    argv: list[str] | None = None,
) -> None:
    """``consumed_types``: the event types the service handles, for its queue's bindings."""
    parser = argparse.ArgumentParser(prog=f"crm-{settings_factory().service_name}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API, the outbox relay and the consumer")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    migrate = commands.add_parser(
        "migrate", help="apply database migrations up to head, then declare the broker topology"
    )
    migrate.add_argument(
        "--skip-topology", action="store_true", help="the database only (no broker needed)"
    )
    commands.add_parser("topology", help="declare the broker topology (idempotent)")
    revision = commands.add_parser("makemigration", help="autogenerate a migration from the models")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)

    settings = settings_factory()
    if args.command == "migrate":
        upgrade(migrations_dir, settings.database_url)
        if not args.skip_topology:
            _declare(settings, consumed_types)
    elif args.command == "topology":
        _declare(settings, consumed_types)
    elif args.command == "makemigration":
        make_revision(migrations_dir, settings.database_url, args.message)
    else:
        tune_garbage_collector_after_startup()
        uvicorn.run(
            app_factory,
            factory=True,
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )


def _declare(settings: PlatformSettings, consumed_types: ConsumedTypes | None) -> None:
    consumed = list(consumed_types(settings)) if consumed_types is not None else []
    topology = topology_of(settings, consumed)
    try:
        asyncio.run(declare_topology(settings.amqp_url, settings.events_exchange, topology))
    except Exception as exc:
        sys.exit(
            f"declaring the broker topology at {settings.amqp_url.split('@')[-1]} failed: "
            f"{exc!r}\nIs RabbitMQ running (CRM_AMQP_URL)? "
            "`migrate --skip-topology` migrates the database alone."
        )
    queues = f"queue {topology.names.main} for {len(consumed)} types" if topology else "no queue"
    print(f"topology declared: exchange {settings.events_exchange}, {queues}")
