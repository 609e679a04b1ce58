"""The five services as real processes on free ports, on PostgreSQL and the run's vhost.

Used by the cross-service tests (tests/conftest.py's ``system``) and by
``scripts/console_stack.py``, which keeps one running while the web console is worked on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from crm_gateway.settings import DEV_ADMIN_PASSWORD, DEV_ADMIN_USERNAME
from crm_platform.testing import ServiceProcess, free_port, sign_in

SERVICES = ("customers", "engagement", "service-desk", "notifier", "gateway")
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class MailRoom:
    """A real SMTP server (aiosmtpd) the notifier sends its email to."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.mails.append(parsed)  # type: ignore[arg-type]
        return "250 2.0.0 queued"


@dataclass
class System:
    processes: dict[str, ServiceProcess]
    database_urls: dict[str, str]
    admin: dict[str, str]  # headers of the first admin, signed in at the gateway
    mail: MailRoom = field(default_factory=MailRoom)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    @property
    def gateway(self) -> str:
        return self.processes["gateway"].url


def _env_name(service: str) -> str:
    return service.upper().replace("-", "_")


@asynccontextmanager
async def running_system(
    new_database: Callable[[str], Awaitable[str]], amqp_url: str, *, gateway_port: int | None = None
) -> AsyncIterator[System]:
    """The five services migrated and answering /readyz, the first admin signed in."""
    database_urls = {name: await new_database(f"e2e_{name}") for name in SERVICES}
    processes = {name: ServiceProcess(name, env={}) for name in SERVICES}
    if gateway_port is not None:
        processes["gateway"].port = gateway_port
    mail = MailRoom()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    shared = {
        "CRM_AMQP_URL": amqp_url,
        "CRM_OUTBOX_SWEEP_SECONDS": "0.5",
        "CRM_CONSUMER_RETRY_DELAYS_MS": "[200, 500]",
        "CRM_LOG_LEVEL": "INFO",
    }
    for name, process in processes.items():
        process.env = {
            **shared,
            f"CRM_{_env_name(name)}_DATABASE_URL": database_urls[name],
            **{f"CRM_{_env_name(other)}_URL": processes[other].url for other in SERVICES},
        }
    processes["notifier"].env |= {
        "CRM_SMTP_HOST": "127.0.0.1",
        "CRM_SMTP_PORT": str(smtp.port),
        "CRM_SMTP_STARTTLS": "false",
        "CRM_SMTP_FROM": "CRM <noreply@crm.example.com>",
        "CRM_DISPATCH_POLL_SECONDS": "0.1",
    }
    processes["gateway"].env["CRM_WEB_DIR"] = str(WEB_DIR / "dist")  # the built console
    processes["notifier"].env["CRM_CONSOLE_URL"] = processes["gateway"].url  # its links
    processes["service-desk"].env["CRM_SURVEY_BASE_URL"] = f"{processes['gateway'].url}/survey/"
    # One sign-in serves the session (tests restart services; the token must outlive them).
    processes["gateway"].env["CRM_ACCESS_TOKEN_TTL_SECONDS"] = str(24 * 3600)
    await asyncio.gather(*(asyncio.to_thread(p.migrate) for p in processes.values()))
    try:
        await asyncio.gather(*(p.start(ready_timeout=90) for p in processes.values()))
        admin = await sign_in(processes["gateway"].url, DEV_ADMIN_USERNAME, DEV_ADMIN_PASSWORD)
        yield System(processes, database_urls, admin, mail)
    finally:
        for process in processes.values():
            process.stop()
        smtp.stop()
