"""Valid customers-service records for tests, made through the service's HTTP API.

After Netflix Dispatch's ``tests/factories.py``: one place knows what a valid customer,
contact, tag or industry needs, and every test names only the fields it is about
(``await create_customer(client, lifecycle="won")``). Records are made through the API, not
inserted, so they carry what the service adds (code, owner, version, outbox events).

Defaults are realistic Chinese data, distinct from call to call (a serial per process), and
customers are created with ``allow_duplicate`` so two of them never trip the similar-name
warning; a test of that guard passes ``allow_duplicate=False``. ``*_body`` functions build a
request body without sending it, for tests about the request itself.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import httpx

from crm_customers.domain.validation import credit_code_check_char, id_number_check_char

CITIES = ("杭州", "苏州", "成都", "武汉", "西安", "南京", "厦门", "青岛", "长沙", "合肥", "宁波")
# A trade name (字号) is one character of each: 100 of them, no two alike as core names.
TRADE_FIRST = "星云华瑞恒嘉鼎远金新"
TRADE_SECOND = "辰帆信丰通禾盛航桥源"
TRADE_NAMES = tuple(a + b for a in TRADE_FIRST for b in TRADE_SECOND)
# What a company of a seeded industry calls itself; of any other, 实业.
INDUSTRY_WORDS = {
    "it": "科技",
    "manufacturing": "精密制造",
    "wholesale": "贸易",
    "logistics": "物流",
    "finance": "金融服务",
    "retail": "商贸",
    "agriculture": "农业",
    "hospitality": "餐饮",
    "culture": "文旅",
}
# Industries an administrator might add to the seeded ones.
NEW_INDUSTRIES = (
    ("new_energy", "新能源", "New energy"),
    ("healthcare", "医疗健康", "Healthcare"),
    ("education", "教育培训", "Education"),
)
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN_NAMES = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超")

_serial = itertools.count(1)


def _next() -> int:
    return next(_serial)


# --------------------------------------------------------------------------- values


def company_name(industry: str = "it", n: int | None = None) -> str:
    """``杭州星辰科技有限公司``: a city, a trade name and what the industry's companies call
    themselves; a branch number once the combinations run out, so names never repeat. The
    trade name changes first: names a few calls apart do not look alike (the similar-name
    check compares them without city and company form)."""
    n = _next() if n is None else n
    trade = TRADE_NAMES[n % len(TRADE_NAMES)]
    city = CITIES[(n // len(TRADE_NAMES)) % len(CITIES)]
    branch = n // (len(CITIES) * len(TRADE_NAMES))
    name = f"{city}{trade}{INDUSTRY_WORDS.get(industry, '实业')}有限公司"
    return f"{name}第{branch}分公司" if branch else name


def person_name(n: int | None = None) -> str:
    """``王伟``: a common surname and a one-character given name."""
    n = _next() if n is None else n
    return SURNAMES[n % len(SURNAMES)] + GIVEN_NAMES[(n // len(SURNAMES)) % len(GIVEN_NAMES)]


def mobile(n: int | None = None) -> str:
    """A mainland mobile number (139…), distinct for each ``n``."""
    n = _next() if n is None else n
    return f"139{n:08d}"


def credit_code(n: int, region: str = "110000") -> str:
    """A Unified Social Credit Code with a correct check character, distinct for each ``n``
    (``region``: the six-digit administrative division, Beijing by default)."""
    first17 = f"91{region}{n:09d}"
    return first17 + credit_code_check_char(first17)


def id_number(n: int) -> str:
    """A resident ID number (Beijing Dongcheng, born from 1950) with a correct check digit,
    distinct for each ``n``."""
    born = date(1950, 1, 1) + timedelta(days=n // 900)
    first17 = f"110101{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + id_number_check_char(first17)


# --------------------------------------------------------------------------- bodies


def enterprise_body(**fields: Any) -> dict[str, Any]:
    """A valid body for ``POST /v1/customers`` of an enterprise; ``fields`` override."""
    industry = fields.get("industry", "it")
    return {
        "kind": "enterprise",
        "name": company_name(industry),
        "industry": industry,
        "allow_duplicate": True,
        **fields,
    }


def individual_body(**fields: Any) -> dict[str, Any]:
    """A valid body for ``POST /v1/customers`` of a person; ``fields`` override."""
    return {
        "kind": "individual",
        "name": person_name(),
        "industry": "retail",
        "allow_duplicate": True,
        **fields,
    }


BODIES = {"enterprise": enterprise_body, "individual": individual_body}


def contact_body(**fields: Any) -> dict[str, Any]:
    """A valid contact: a name and a mobile; ``fields`` override (``mobile=None`` for none)."""
    return {"name": person_name(), "mobile": mobile(), **fields}


# --------------------------------------------------------------------------- records


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_customer(
    client: httpx.AsyncClient, kind: str = "enterprise", **fields: Any
) -> dict[str, Any]:
    """A customer made by ``client``'s caller, who owns it unless ``owner_id`` says otherwise;
    the API's answer."""
    body = BODIES[kind](**fields)
    return _created(await client.post("/v1/customers", json=body))


async def create_individual(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await create_customer(client, "individual", **fields)


async def create_contact(
    client: httpx.AsyncClient, customer: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """A contact of ``customer``; the API's answer."""
    url = f"/v1/customers/{customer['id']}/contacts"
    return _created(await client.post(url, json=contact_body(**fields)))


async def create_tag(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    """An administered tag (the caller must be an admin); customers may then carry it."""
    return _created(await client.post("/v1/tags", json={"name": name, **fields}))


async def create_tags(client: httpx.AsyncClient, *names: str) -> list[dict[str, Any]]:
    return [await create_tag(client, name) for name in names]


async def create_industry(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """An administered industry beyond the seeded ones (the caller must be an admin), its code
    made distinct by a serial; ``fields`` override."""
    n = _next()
    code, name_zh, name_en = NEW_INDUSTRIES[n % len(NEW_INDUSTRIES)]
    body = {"code": f"{code}_{n}", "name_zh": name_zh, "name_en": name_en, **fields}
    return _created(await client.post("/v1/industries", json=body))


async def request_change(
    client: httpx.AsyncClient, customer: dict[str, Any], **changes: Any
) -> dict[str, Any]:
    """A pending change request for key fields of a won ``customer`` (``name=``,
    ``credit_code=``…), asked for by ``client``'s caller at the customer's version."""
    body = {"version": customer["version"], **changes}
    response = await client.patch(f"/v1/customers/{customer['id']}", json=body)
    assert response.status_code == 202, response.text
    request: dict[str, Any] = response.json()["change_request"]
    return request
