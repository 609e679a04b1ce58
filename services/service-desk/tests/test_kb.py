"""The knowledge base through its HTTP API on a migrated PostgreSQL database (trigram search,
Chinese included), and its search fallback on SQLite through the domain."""

# Real Chinese text carries full-width punctuation, which tickets and articles keep.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.identity import Identity
from crm_platform.migrations import upgrade
from crm_platform.testing import FakeClock, bearer, fetch, running_app
from crm_service_desk.__main__ import MIGRATIONS_DIR
from crm_service_desk.domain import kb
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.domain.kb_commands import CreateKbArticle
from crm_service_desk.main import create_app
from crm_service_desk.settings import Settings

from .conftest import INTERNAL_TOKEN_SECRET
from .factories import open_ticket, seed_customer

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def as_role(role: str, subject: str | None = None) -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, role, subject=subject or f"u-{role}")


AGENT = as_role("service_agent")
SUPERVISOR = as_role("service_supervisor")
REP = as_role("sales_rep")
VIEWER = as_role("viewer")

PRINTER_ANSWER = (
    "首先请确认纸盒中的纸张没有受潮或卷曲。如果打印机仍然频繁卡纸，请关闭电源后打开后盖，"
    "小心取出残留的纸屑，并用干布清理进纸轮上的灰尘，然后重新装纸再试一次。"
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def client(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app on its own clock, so a test can move time between uses."""
    async with running_app(create_app(settings, clock=clock), "http://service-desk") as client:
        yield client


async def create(
    client: httpx.AsyncClient,
    question: str,
    answer: str = "请按说明书的步骤操作后重试。",
    *,
    tags: list[str] | None = None,
    status: str = "published",
    headers: dict[str, str] = AGENT,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/kb/articles",
        json={"question": question, "answer": answer, "tags": tags or [], "status": status},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def search(
    client: httpx.AsyncClient, headers: dict[str, str] = AGENT, **params: Any
) -> dict[str, Any]:
    response = await client.get("/v1/kb/articles", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def questions(page: dict[str, Any]) -> list[str]:
    return [item["question"] for item in page["items"]]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


# --------------------------------------------------------------------------- write and read


async def test_an_article_is_created_read_and_updated_against_its_version(client) -> None:
    created = await create(client, "打印机卡纸怎么办？", PRINTER_ANSWER, tags=["打印机", " VPN "])
    assert created["status"] == "published" and created["version"] == 1
    assert created["tags"] == ["打印机", "vpn"]
    assert created["created_by"] == "u-service_agent" and created["use_count"] == 0
    assert created["created_at"].endswith("Z") or "+00:00" in created["created_at"]

    read = await client.get(f"/v1/kb/articles/{created['id']}", headers=REP)
    assert read.status_code == 200 and read.headers["etag"] == '"1"'

    patched = await client.patch(
        f"/v1/kb/articles/{created['id']}",
        json={"answer": PRINTER_ANSWER + "仍不能解决请联系工程师。"},
        headers={**SUPERVISOR, "if-match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2 and patched.headers["etag"] == '"2"'
    assert patched.json()["updated_by"] == "u-service_supervisor"

    stale = await client.patch(
        f"/v1/kb/articles/{created['id']}", json={"question": "旧版本", "version": 1}, headers=AGENT
    )
    assert assert_problem(stale, 409)["type"].endswith("stale-version")
    unversioned = await client.patch(
        f"/v1/kb/articles/{created['id']}", json={"question": "没有版本"}, headers=AGENT
    )
    assert_problem(unversioned, 428)
    missing = await client.get(f"/v1/kb/articles/{uuid.uuid4()}", headers=AGENT)
    assert_problem(missing, 404)


async def test_a_create_with_an_idempotency_key_runs_once(client) -> None:
    body = {"question": "如何重置密码？", "answer": "在登录页点击忘记密码。", "tags": ["账号"]}
    headers = {**AGENT, "idempotency-key": "kb-create-1"}
    first = await client.post("/v1/kb/articles", json=body, headers=headers)
    again = await client.post("/v1/kb/articles", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replay") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert (await search(client, q="重置密码"))["total"] == 1


async def test_publishing_stages_kb_article_published(client, settings) -> None:
    draft = await create(
        client, "VPN 连接失败 809", "检查防火墙是否放行 UDP 500 端口。", status="draft"
    )
    rows = await fetch(settings.database_url, "SELECT body FROM outbox_message")
    assert rows == []
    published = await client.patch(
        f"/v1/kb/articles/{draft['id']}",
        json={"status": "published", "version": 1},
        headers=AGENT,
    )
    assert published.status_code == 200 and published.json()["published_at"] is not None
    await create(client, "直接发布的文章", "内容。")
    rows = await fetch(
        settings.database_url,
        "SELECT body FROM outbox_message WHERE routing_key = 'kb.article_published' "
        "ORDER BY created_at",
    )
    events = [json.loads(row["body"]) for row in rows]
    assert [e["data"]["question"] for e in events] == ["VPN 连接失败 809", "直接发布的文章"]
    assert events[0]["type"] == "crm.kb.article_published"
    assert events[0]["source"] == "/crm/service-desk"
    assert events[0]["subject"] == draft["id"] and events[0]["data"]["version"] == 2
    # An edit of a published article publishes nothing new; archiving neither.
    await client.patch(
        f"/v1/kb/articles/{draft['id']}", json={"status": "archived", "version": 2}, headers=AGENT
    )
    rows = await fetch(settings.database_url, "SELECT 1 FROM outbox_message")
    assert len(rows) == 2


async def test_service_staff_write_and_everybody_else_reads_published_only(client) -> None:
    published = await create(client, "发票如何开具？", "在订单页申请开票。")
    draft = await create(client, "草稿：退款流程", "待补充。", status="draft")

    for headers in (REP, VIEWER, as_role("sales_manager")):
        refused = await client.post(
            "/v1/kb/articles", json={"question": "我来写", "answer": "不行"}, headers=headers
        )
        assert_problem(refused, 403)
        page = await search(client, headers)
        assert questions(page) == ["发票如何开具？"] and page["total"] == 1
        hidden = await client.get(f"/v1/kb/articles/{draft['id']}", headers=headers)
        assert_problem(hidden, 404)
        assert_problem(
            await client.get("/v1/kb/articles", params={"status": "draft"}, headers=headers), 403
        )
        edit = await client.patch(
            f"/v1/kb/articles/{published['id']}",
            json={"answer": "改掉", "version": 1},
            headers=headers,
        )
        assert_problem(edit, 403)
    assert_problem(await client.post(f"/v1/kb/articles/{published['id']}/uses", headers=REP), 403)
    staff = await search(client, AGENT)
    assert staff["total"] == 2
    assert questions(await search(client, AGENT, status="draft")) == ["草稿：退款流程"]
    assert (await client.get(f"/v1/kb/articles/{draft['id']}", headers=AGENT)).status_code == 200


# --------------------------------------------------------------------------- search


async def test_a_chinese_article_is_found_from_a_phrase_in_the_middle_of_its_answer(client) -> None:
    """The acceptance test: PostgreSQL's text search would not find this (no segmentation)."""
    printer = await create(client, "打印机卡纸怎么办？", PRINTER_ANSWER, tags=["打印机"])
    await create(client, "路由器无法上网", "重启路由器并检查网线是否插好，指示灯应为绿色。")
    await create(client, "如何更换硒鼓", "打开前盖，取出旧硒鼓，装入新硒鼓后关闭前盖。")

    page = await search(client, REP, q="清理进纸轮上的灰尘")
    assert [item["id"] for item in page["items"]] == [printer["id"]] and page["total"] == 1
    assert (await search(client, REP, q="小心取出残留"))["items"][0]["id"] == printer["id"]
    assert (await search(client, REP, q="进纸轮 后盖"))["total"] == 1  # every word
    assert (await search(client, REP, q="进纸轮 路由器"))["total"] == 0


async def test_the_search_uses_the_trigram_indexes(client, settings) -> None:
    """The index answers the phrase search (the planner chooses it once the table is big; a
    test table is small, so sequential scans are switched off to see that it can)."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SET enable_seqscan = off"))
            plan = (
                (
                    await connection.execute(
                        text(
                            "EXPLAIN SELECT id FROM kb_article "
                            "WHERE question ILIKE '%进纸轮上%' OR answer ILIKE '%进纸轮上%'"
                        )
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    plan_text = "\n".join(plan)
    assert "ix_kb_article_answer_trgm" in plan_text and "ix_kb_article_question_trgm" in plan_text


async def test_two_character_chinese_queries_still_find_articles(client) -> None:
    printer = await create(client, "打印机卡纸怎么办？", PRINTER_ANSWER)
    await create(client, "路由器无法上网", "重启路由器并检查网线。")
    assert [i["id"] for i in (await search(client, q="卡纸"))["items"]] == [printer["id"]]
    assert [i["id"] for i in (await search(client, q="灰尘"))["items"]] == [printer["id"]]
    assert (await search(client, q="网"))["total"] == 1


async def test_english_search_is_case_insensitive_and_ranks_question_matches_first(
    client,
) -> None:
    in_answer = await create(
        client, "Laptop will not start", "Hold the power button; if the Printer Driver ..."
    )
    in_question = await create(
        client, "Printer driver install fails", "Download the driver from the vendor site."
    )
    page = await search(client, q="printer driver")
    assert [i["id"] for i in page["items"]] == [in_question["id"], in_answer["id"]]
    assert (await search(client, q="VENDOR"))["total"] == 1
    assert (await search(client, q="100%_"))["total"] == 0  # wildcards are literal


async def test_the_tag_filter(client) -> None:
    await create(client, "打印机卡纸", PRINTER_ANSWER, tags=["打印机", "硬件"])
    await create(client, "VPN 无法连接", "检查账号。", tags=["VPN", "网络"])
    await create(client, "Wi-Fi 掉线", "更新驱动。", tags=["网络"])
    assert questions(await search(client, tag="vpn")) == ["VPN 无法连接"]
    assert sorted(questions(await search(client, tag="网络"))) == ["VPN 无法连接", "Wi-Fi 掉线"]
    assert (await search(client, tag="网络", q="驱动"))["total"] == 1
    assert (await search(client, tag="没有这个"))["total"] == 0


# --------------------------------------------------------------------------- uses and top


async def use(
    client: httpx.AsyncClient, article_id: str, ticket_id: str | None = None
) -> httpx.Response:
    body = {"ticket_id": ticket_id} if ticket_id else None
    return await client.post(f"/v1/kb/articles/{article_id}/uses", json=body, headers=AGENT)


async def test_uses_count_once_per_ticket_and_make_the_top_list(client, clock, settings) -> None:
    a = await create(client, "文章A", "答案A")
    b = await create(client, "文章B", "答案B")
    c = await create(client, "文章C", "答案C")
    await create(client, "从未使用", "答案D")
    customer = await seed_customer(settings.database_url)
    ticket = (await open_ticket(client, customer["id"]))["id"]
    other_ticket = (await open_ticket(client, customer["id"]))["id"]

    first = await use(client, a["id"], ticket)
    assert first.status_code == 201 and first.json()["counted"] is True
    again = await use(client, a["id"], ticket)
    assert again.status_code == 200 and again.json() == {**first.json(), "counted": False}
    assert (await use(client, a["id"], other_ticket)).json()["use_count"] == 2
    unknown = await use(client, a["id"], str(uuid.uuid4()))
    assert unknown.status_code == 422
    log = (await client.get(f"/v1/tickets/{ticket}", headers=AGENT)).json()["log"]
    assert [(e["action"], e["note"]) for e in log if e["action"] == "kb_used"] == [
        ("kb_used", "文章A")
    ]
    assert (await use(client, a["id"])).json()["use_count"] == 3  # no ticket: each use counts
    read = await client.get(f"/v1/kb/articles/{a['id']}", headers=AGENT)
    assert read.json()["use_count"] == 3 and read.json()["version"] == 1  # not an edit

    # 40 days ago: A 3, B 1. Now: C 2, B 1.
    await use(client, b["id"])
    clock.advance(days=40)
    await use(client, c["id"])
    await use(client, c["id"], ticket)
    await use(client, b["id"], ticket)

    top = (await client.get("/v1/kb/top", headers=VIEWER)).json()
    ranked = [(i["article"]["question"], i["uses"]) for i in top["items"]]
    assert ranked[0] == ("文章A", 3) and set(ranked[1:]) == {("文章B", 2), ("文章C", 2)}
    recent = (await client.get("/v1/kb/top", params={"days": 30}, headers=REP)).json()
    assert recent["days"] == 30
    assert [(i["article"]["question"], i["uses"]) for i in recent["items"]] == [
        ("文章C", 2),
        ("文章B", 1),
    ]
    one = (await client.get("/v1/kb/top", params={"limit": 1}, headers=REP)).json()
    assert [i["article"]["question"] for i in one["items"]] == ["文章A"]

    archived = await client.patch(
        f"/v1/kb/articles/{a['id']}", json={"status": "archived", "version": 1}, headers=AGENT
    )
    assert archived.status_code == 200
    top = (await client.get("/v1/kb/top", headers=VIEWER)).json()
    assert "文章A" not in [i["article"]["question"] for i in top["items"]]
    refused = await use(client, a["id"])
    assert assert_problem(refused, 409)["type"].endswith("kb-article-not-published")


# --------------------------------------------------------------------------- suggestions


async def test_suggestions_for_a_chinese_ticket_description(client) -> None:
    printer = await create(client, "打印机卡纸怎么办？", PRINTER_ANSWER, tags=["打印机"])
    toner = await create(client, "打印机打印出来字迹很淡", "硒鼓碳粉不足，请更换硒鼓。")
    await create(client, "路由器无法上网", "重启路由器并检查网线是否插好。")
    await create(client, "草稿：打印机卡纸的新办法", "待补充。", status="draft")

    response = await client.get(
        "/v1/kb/suggestions",
        params={"text": "您好，我们办公室的打印机一直卡纸，换了新纸也不行，怎么办"},
        headers=REP,
    )
    assert response.status_code == 200, response.text
    ids = [item["id"] for item in response.json()["items"]]
    assert ids[0] == printer["id"] and toner["id"] in ids and len(ids) == 2


async def test_suggestions_for_an_english_ticket_description(client) -> None:
    vpn = await create(
        client, "VPN connection fails with error 809", "Allow UDP 500 and 4500 on the firewall."
    )
    await create(client, "Reset a forgotten password", "Use the forgotten password link.")
    await create(client, "Outlook keeps asking for the password", "Remove the saved credentials.")
    text_ = "Hi, since this morning my VPN connection drops and shows error 809. Please help!"
    found = await kb_suggestions(client, text_)
    assert found[0] == vpn["question"] and len(found) == 1
    assert await kb_suggestions(client, "the and of it") == []
    password = await kb_suggestions(client, "I forgot my password", limit=1)
    assert password == ["Reset a forgotten password"]


async def kb_suggestions(client: httpx.AsyncClient, text_: str, **params: Any) -> list[str]:
    response = await client.get(
        "/v1/kb/suggestions", params={"text": text_, **params}, headers=VIEWER
    )
    assert response.status_code == 200, response.text
    return [item["question"] for item in response.json()["items"]]


def test_the_informative_terms_of_a_ticket() -> None:
    chinese = kb.suggestion_probe("您好，我们办公室的打印机一直卡纸，换了纸也不行")
    assert chinese.terms[:2] == ("办公室", "打印机") and "卡纸" in chinese.terms
    assert "您好" not in chinese.probe and "打印机" in chinese.probe
    mixed = kb.suggestion_probe("VPN连接失败，提示错误代码809")
    assert {"vpn", "809", "连接失", "接失败", "错误代"} <= set(mixed.terms)
    english = kb.suggestion_probe("The printer HP-1020 shows error E05 again and again")
    assert english.terms[:2] == ("hp-1020", "e05") and "the" not in english.terms
    assert len(kb.suggestion_probe("打印机" * 40 + "网络连接" * 40).terms) <= kb.SUGGESTION_TERMS


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("post", "/v1/kb/articles", {"question": "x"}, None),
        ("post", "/v1/kb/articles", {"question": "问题", "answer": "答案", "status": "gone"}, None),
        (
            "post",
            "/v1/kb/articles",
            {"question": "问题", "answer": "答案", "tags": ["t"] * 11},
            None,
        ),
        (
            "post",
            "/v1/kb/articles",
            {"question": "问题", "answer": "答案", "tags": ["x" * 31]},
            None,
        ),
        ("post", "/v1/kb/articles", {"question": "问题", "answer": "答案", "extra": 1}, None),
        ("get", "/v1/kb/articles", None, {"page_size": 0}),
        ("get", "/v1/kb/articles", None, {"q": "x" * 201}),
        ("get", "/v1/kb/articles", None, {"q": "a b c d e f"}),
        ("get", "/v1/kb/articles", None, {"status": "deleted"}),
        ("get", "/v1/kb/top", None, {"days": 0}),
        ("get", "/v1/kb/top", None, {"limit": 51}),
        ("get", "/v1/kb/suggestions", None, {}),
        ("get", "/v1/kb/suggestions", None, {"text": "x" * 2001}),
        ("get", "/v1/kb/articles/not-a-uuid", None, None),
    ],
)
async def test_bad_input_is_a_422_problem(client, method, path, body, params) -> None:
    response = await client.request(method, path, json=body, params=params, headers=AGENT)
    assert_problem(response, 422)


async def test_bad_patches_and_uses_are_422_problems(client) -> None:
    article = await create(client, "问题", "答案")
    url = f"/v1/kb/articles/{article['id']}"
    for body in ({"question": None, "version": 1}, {"use_count": 9, "version": 1}):
        assert_problem(await client.patch(url, json=body, headers=AGENT), 422)
    bad_ticket = await client.post(f"{url}/uses", json={"ticket_id": "x"}, headers=AGENT)
    assert_problem(bad_ticket, 422)


# --------------------------------------------------------------------------- SQLite


async def test_the_search_falls_back_to_like_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'service-desk.db'}"
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
    engine = create_async_engine(url)
    agent = RequestContext(
        identity=Identity(subject="u-agent", roles=frozenset({"service_agent"}), name="agent"),
        settings=Settings(database_url=url),
    )
    rep = RequestContext(
        identity=Identity(subject="u-rep", roles=frozenset({"sales_rep"}), name="rep"),
        settings=Settings(database_url=url),
    )
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    try:
        async with sessions() as session, session.begin():
            for question, answer, tags, status in (
                ("打印机卡纸怎么办？", PRINTER_ANSWER, ("打印机",), "published"),
                ("Printer driver", "Download it from the vendor.", ("driver",), "published"),
                ("草稿", "清理进纸轮", (), "draft"),
            ):
                command = CreateKbArticle(
                    question=question, answer=answer, tags=tags, status=status
                )
                await kb.create_article(session, agent, command)
        async with sessions() as session:
            found = await kb.list_articles(session, rep, q="清理进纸轮上的灰尘")
            assert [a.question for a in found.items] == ["打印机卡纸怎么办？"]
            assert found.total == 1 and found.total_exact
            assert (await kb.list_articles(session, rep, q="卡纸")).total == 1
            assert (await kb.list_articles(session, agent, q="进纸轮")).total == 2
            found = await kb.list_articles(session, rep, q="PRINTER", tag="Driver")
            assert [a.question for a in found.items] == ["Printer driver"]
            suggested = await kb.suggest_articles(session, "我们的打印机一直卡纸")
            assert [a.question for a in suggested] == ["打印机卡纸怎么办？"]
    finally:
        await engine.dispose()


async def test_question_matches_page_before_answer_matches_and_broad_totals_are_estimated(
    client, monkeypatch
) -> None:
    from crm_service_desk.db import kb_repository

    in_answer = [await create(client, f"网络问题{n}", "请检查打印机的电源。") for n in range(3)]
    in_question = [await create(client, f"打印机问题{n}", "请重启。") for n in range(2)]
    await use(client, in_answer[2]["id"])
    pages = [await search(client, q="打印机", page=n, page_size=2) for n in (1, 2, 3)]
    ids = [i["id"] for page in pages for i in page["items"]]
    assert set(ids[:2]) == {a["id"] for a in in_question}
    assert ids[2] == in_answer[2]["id"]  # the most used answer match first
    assert set(ids[2:]) == {a["id"] for a in in_answer} and len(ids) == 5
    assert pages[0]["total"] == 5 and pages[0]["total_exact"] is True

    monkeypatch.setattr(kb_repository, "EXACT_TOTAL_LIMIT", 2)
    broad = await search(client, q="打印机")
    assert broad["total_exact"] is False and broad["total"] >= 3
