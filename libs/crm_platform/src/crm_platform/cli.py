"""The command line each service installs as ``crm-<service>``: serve, migrate, makemigration."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import uvicorn

from crm_platform.migrations import make_revision, upgrade
from crm_platform.runtime import tune_garbage_collector_after_startup
from crm_platform.settings import PlatformSettings


def run_cli(
    *,
    settings_factory: Callable[[], PlatformSettings],
    app_factory: str,
    migrations_dir: Path,
    default_port: int,
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"crm-{settings_factory().service_name}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API, the outbox relay and the consumer")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    commands.add_parser("migrate", help="apply database migrations up to head")
    revision = commands.add_parser("makemigration", help="autogenerate a migration from the models")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)

    settings = settings_factory()
    if args.command == "migrate":
        upgrade(migrations_dir, settings.database_url)
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
