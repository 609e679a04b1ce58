"""Keep the five services running for work on the web console, with its test people.

    uv run python scripts/console_stack.py [--port 8100]

Starts them as tests/test_web_console.py does (a vhost and PostgreSQL databases of their
own, the built console from web/dist served by the gateway), creates the people of
tests/console_people.py, prints the gateway's address, and runs until Ctrl-C or SIGTERM,
when it stops the services and removes the vhost and the databases.
Browser tests against it, from web/:

    CRM_CONSOLE_URL=http://127.0.0.1:8100 npx playwright test [--grep …]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from console_people import PASSWORD, create_console_people
from system import running_system

from crm_platform.testing import RunDatabases, create_vhost, delete_vhost, run_id


async def main(port: int) -> None:
    tag = run_id()
    vhost = f"crm-console-{tag}"
    amqp_url = create_vhost(vhost)
    databases = RunDatabases(tag)
    try:
        async with running_system(databases.new, amqp_url, gateway_port=port) as system:
            await create_console_people(system.gateway, system.admin)
            print(f"console  {system.gateway}/   people: rep1 rep2 manager1 supervisor1 agent1")
            print(f"password {PASSWORD}   (admin: the development admin)", flush=True)
            stop = asyncio.Event()  # Ctrl-C or a plain `kill`: stop the services, clean up
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await stop.wait()
    finally:
        await databases.drop_all()
        delete_vhost(vhost)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8100, help="the gateway's port")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args().port))
