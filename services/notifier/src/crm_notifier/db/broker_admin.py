"""RabbitMQ's management API (HTTP), as the notifier uses it to put partners on the bus: their
queues, the bindings of those queues to the events exchange, their broker users and the users'
permissions.

An outbound adapter, not SQL: the ``db`` layer holds the service's adapters to what it stores
state in, the broker's definitions being one, so the domain reaches them the way it reaches its
tables and never imports an HTTP client itself.

Every call names the vhost the client was made for. A failure of the API itself (unreachable,
timing out, 5xx, the notifier's own credentials refused) is ``Unavailable`` (503: trying again
later may succeed); a definition the broker refuses for what it is (a queue that exists with
other arguments) is ``Conflict``.

RabbitMQ's permissions are three regular expressions per user and vhost, matched against the
name of the queue or exchange an operation touches: *configure* (declare, delete), *write*
(publish to an exchange; bind a queue) and *read* (consume, get, purge a queue; bind from an
exchange). An empty expression and ``^$`` both match nothing a client can name (the default
exchange is checked as ``amq.default``). ``consume_only`` grants *read* on one queue and
nothing else.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from crm_platform.errors import Conflict, Unavailable

log = logging.getLogger(__name__)

NOTHING = "^$"


def _segment(name: str) -> str:
    """One path segment of the API: every character but unreserved ones escaped (``/`` is the
    default vhost's name, ``%2F`` in a path)."""
    return quote(name, safe="")


def generate_password() -> str:
    """A broker password: 256 random bits, URL-safe (it goes into ``amqp://`` URLs)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str

    @classmethod
    def consume_only(cls, queue: str) -> Permissions:
        """Read (consume, get, purge) ``queue``; declare, delete, bind or publish nothing."""
        return cls(configure=NOTHING, write=NOTHING, read=f"^{re.escape(queue)}$")


class BrokerAdmin:
    """A client of the management API for one vhost; open it with ``broker_admin(...)``."""

    def __init__(self, client: httpx.AsyncClient, vhost: str) -> None:
        self._client = client
        self.vhost = vhost

    # ----------------------------------------------------------------------------- queues

    async def queue_exists(self, queue: str) -> bool:
        response = await self._call("GET", self._queue_path(queue), allow=(404,))
        return response.status_code == 200

    async def declare_quorum_queue(self, queue: str) -> None:
        """A durable quorum queue; nothing happens if it exists with these arguments."""
        response = await self._call(
            "PUT",
            self._queue_path(queue),
            json={"durable": True, "auto_delete": False, "arguments": {"x-queue-type": "quorum"}},
            allow=(400,),
        )
        if response.status_code == 400:
            raise Conflict(
                f"Queue {queue} exists on the broker with other arguments than a durable "
                "quorum queue's; delete it (or choose another partner slug) and try again.",
                slug="queue-mismatch",
                queue=queue,
                reason=_reason(response),
            )

    async def delete_queue(self, queue: str) -> bool:
        """Delete ``queue`` and its messages; False if there was none."""
        response = await self._call("DELETE", self._queue_path(queue), allow=(404,))
        return response.status_code != 404

    # --------------------------------------------------------------------------- bindings

    async def binding_keys(self, exchange: str, queue: str) -> list[str]:
        """The routing keys ``queue`` is bound to ``exchange`` with."""
        response = await self._call("GET", self._bindings_path(exchange, queue), allow=(404,))
        if response.status_code == 404:
            return []
        return sorted({binding["routing_key"] for binding in response.json()})

    async def bind(self, exchange: str, queue: str, routing_key: str) -> None:
        response = await self._call(
            "POST",
            self._bindings_path(exchange, queue),
            json={"routing_key": routing_key, "arguments": {}},
            allow=(404,),
        )
        if response.status_code == 404:
            raise Unavailable(
                f"Exchange {exchange} or queue {queue} does not exist in vhost {self.vhost}; "
                "the events exchange is declared by `crm-notifier migrate`.",
                exchange=exchange,
                queue=queue,
            )

    async def unbind(self, exchange: str, queue: str, routing_key: str) -> None:
        """Remove every binding of ``queue`` to ``exchange`` with ``routing_key``."""
        response = await self._call("GET", self._bindings_path(exchange, queue), allow=(404,))
        if response.status_code == 404:
            return
        for binding in response.json():
            if binding["routing_key"] == routing_key:
                path = (
                    self._bindings_path(exchange, queue) + "/" + _segment(binding["properties_key"])
                )
                await self._call("DELETE", path, allow=(404,))

    async def sync_bindings(self, exchange: str, queue: str, routing_keys: Iterable[str]) -> None:
        """Bind ``queue`` with exactly ``routing_keys``: add the missing, remove the others."""
        wanted = set(routing_keys)
        existing = set(await self.binding_keys(exchange, queue))
        for key in sorted(wanted - existing):
            await self.bind(exchange, queue, key)
        for key in sorted(existing - wanted):
            await self.unbind(exchange, queue, key)

    # ------------------------------------------------------------------------------ users

    async def user_exists(self, username: str) -> bool:
        response = await self._call("GET", f"/api/users/{_segment(username)}", allow=(404,))
        return response.status_code == 200

    async def create_user(self, username: str, password: str) -> None:
        """A user with no tags: it cannot sign in to the management UI or API."""
        await self._call(
            "PUT", f"/api/users/{_segment(username)}", json={"password": password, "tags": ""}
        )

    async def delete_user(self, username: str) -> bool:
        """Delete ``username`` (its permissions go with it); False if there was none."""
        response = await self._call("DELETE", f"/api/users/{_segment(username)}", allow=(404,))
        return response.status_code != 404

    async def users_with_permissions(self) -> list[str]:
        """The users with permissions on the vhost."""
        response = await self._call("GET", f"/api/vhosts/{_segment(self.vhost)}/permissions")
        return sorted({entry["user"] for entry in response.json()})

    async def set_permissions(self, username: str, permissions: Permissions) -> None:
        await self._call(
            "PUT",
            f"/api/permissions/{_segment(self.vhost)}/{_segment(username)}",
            json={
                "configure": permissions.configure,
                "write": permissions.write,
                "read": permissions.read,
            },
        )

    async def clear_permissions(self, username: str) -> None:
        """Take ``username``'s permissions on the vhost away: it can no longer connect to it."""
        await self._call(
            "DELETE",
            f"/api/permissions/{_segment(self.vhost)}/{_segment(username)}",
            allow=(404,),
        )

    async def close_connections(self, username: str, reason: str) -> None:
        """Close ``username``'s open connections: a channel remembers the permission checks it
        passed, so a revoked user's consumer would otherwise go on receiving. Call it while
        the user exists (RabbitMQ 3.10 answers 500 for a deleted user's)."""
        await self._call(
            "DELETE",
            f"/api/connections/username/{_segment(username)}",
            headers={"X-Reason": reason},
            allow=(404,),
        )

    # ---------------------------------------------------------------------------- the wire

    def _queue_path(self, queue: str) -> str:
        return f"/api/queues/{_segment(self.vhost)}/{_segment(queue)}"

    def _bindings_path(self, exchange: str, queue: str) -> str:
        return f"/api/bindings/{_segment(self.vhost)}/e/{_segment(exchange)}/q/{_segment(queue)}"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(
                "The broker's management API did not answer; try again later.",
                slug="broker-management-unavailable",
                error=type(exc).__name__,
            ) from exc
        if response.is_success or response.status_code in allow:
            return response
        log.warning(
            "management API %s %s answered %s: %s",
            method,
            path,
            response.status_code,
            response.text[:500],
        )
        if response.status_code in (401, 403):
            detail = "The broker's management API refused the notifier's credentials"
        else:
            detail = f"The broker's management API answered {response.status_code}"
        raise Unavailable(
            f"{detail} ({method} {path.split('/')[2]}); try again later.",
            slug="broker-management-unavailable",
            broker_status=response.status_code,
            reason=_reason(response),
        )


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("reason", body)) if isinstance(body, dict) else str(body)[:200]


@asynccontextmanager
async def broker_admin(
    url: str, username: str, password: str, vhost: str, *, timeout: float = 10.0
) -> AsyncIterator[BrokerAdmin]:
    """A management API client for ``vhost`` (``url``: ``http://host:15672``)."""
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), auth=(username, password), timeout=timeout
    ) as client:
        yield BrokerAdmin(client, vhost)
