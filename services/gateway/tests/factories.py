"""Valid gateway records for tests, made through the gateway's own HTTP API: users (with a
password that meets the policy), their sign-ins, API keys.

After Netflix Dispatch's ``tests/factories.py``: one place knows what a valid user needs,
and every test names only what it is about (``await create_user(people, roles=["viewer"])``).
Defaults are realistic Chinese names, distinct from call to call.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from crm_gateway.main import create_app
from crm_gateway.settings import GatewaySettings
from crm_platform.testing import isolated_consumer_settings, running_app

INTERNAL_TOKEN_SECRET = "gateway-tests-internal-token-secret-0123456789"
JWT_SECRET = "gateway-tests-jwt-secret-0123456789-abcdefghij"
ADMIN_USERNAME = "root.admin"
ADMIN_PASSWORD = "tests-admin-password-42"
# argon2 at its cheapest: the tests are about the rules, not the cost (one test changes it).
FAST_HASHING = {
    "password_hash_time_cost": 1,
    "password_hash_memory_kib": 1024,
    "password_hash_parallelism": 1,
}
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN_NAMES = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超")
PINYIN = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "zhou", "wu")

_serial = itertools.count(1)


@dataclass
class People:
    """The running gateway: ``client`` (no credentials of its own), ``admin`` (headers of
    the first admin's access token), ``app`` and its ``settings``."""

    client: httpx.AsyncClient
    admin: dict[str, str]
    app: Any
    settings: GatewaySettings


def gateway_settings(database_url: str, amqp_url: str, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(
        **{
            **isolated_consumer_settings(
                "gateway",
                database_url=database_url,
                amqp_url=amqp_url,
                internal_token_secret=INTERNAL_TOKEN_SECRET,
            ),
            "jwt_secret": JWT_SECRET,
            "admin_username": ADMIN_USERNAME,
            "admin_password": ADMIN_PASSWORD,
            **FAST_HASHING,
            **overrides,
        }
    )


@contextlib.asynccontextmanager
async def start_people(database_url: str, amqp_url: str, **overrides: Any) -> AsyncIterator[People]:
    settings = gateway_settings(database_url, amqp_url, **overrides)
    app = create_app(settings)
    async with running_app(app, "http://gateway") as client:
        tokens = await login(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        yield People(client, bearer(tokens["access_token"]), app, settings)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()


def user_body(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    surname, given = SURNAMES[n % len(SURNAMES)], GIVEN_NAMES[n % len(GIVEN_NAMES)]
    body: dict[str, Any] = {
        "username": f"{PINYIN[n % len(PINYIN)]}.{n:04d}",
        "password": f"Spring-{n:04d}-bamboo",
        "display_name": f"{surname}{given}",
        "email": f"user{n:04d}@example.cn",
        "mobile": f"139{n:08d}",
        "roles": ["sales_rep"],
        "team": "华东销售一组",
    }
    body.update(overrides)
    return body


@dataclass
class Person:
    user: dict[str, Any]
    password: str

    @property
    def id(self) -> str:
        return self.user["id"]

    @property
    def username(self) -> str:
        return self.user["username"]


async def create_user(people: People, **overrides: Any) -> Person:
    body = user_body(**overrides)
    response = await people.client.post("/api/v1/users", json=body, headers=people.admin)
    assert response.status_code == 201, response.text
    return Person(response.json(), body["password"])


async def signed_in(people: People, **overrides: Any) -> tuple[Person, dict[str, Any]]:
    """A new user and their login answer (tokens)."""
    person = await create_user(people, **overrides)
    return person, await login(people.client, person.username, person.password)


async def create_api_key(
    people: People, owner: Person | None = None, **overrides: Any
) -> dict[str, Any]:
    """An API key (the answer, with ``key``) for ``owner`` or a new integration account."""
    if owner is None:
        owner = await create_user(people, roles=["sales_manager"], team=None)
    body = {"owner_id": owner.id, "name": "合作伙伴 ERP 同步", "scopes": ["customers:read"]}
    body.update(overrides)
    response = await people.client.post("/api/v1/api-keys", json=body, headers=people.admin)
    assert response.status_code == 201, response.text
    return response.json()
