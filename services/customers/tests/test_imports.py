"""Customer import (dry run, commit, safe repeat) and export (XLSX/CSV, filters, visibility)."""

import csv
import io
import time

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from crm_customers.db.models import Contact, Customer
from crm_customers.domain.import_files import cell_text, normalize_header, split_tags
from crm_customers.settings import CustomersSettings
from crm_platform.events.outbox import OutboxMessage

from .conftest import app_client, migrated_sqlite
from .factories import create_customer, create_individual, credit_code, id_number

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _without_consumer(settings: CustomersSettings) -> None:
    """Imports consume nothing; and a test that ends while the consumer is still connecting
    can hang the app's shutdown (reported to the platform owner), so it stays off here."""
    settings.consumer_enabled = False


def bad_check_char(code: str, charset: str) -> str:
    return code[:17] + next(ch for ch in charset if ch != code[17])


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("客户")
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


async def upload(
    client: httpx.AsyncClient, content: bytes, name: str, *, dry_run: bool
) -> httpx.Response:
    media = XLSX if name.endswith(".xlsx") else "text/csv"
    return await client.post(
        "/v1/customers/imports",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (name, content, media)},
    )


async def count_customers(client: httpx.AsyncClient) -> int:
    async with client.app.state.runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Customer))).scalar())


async def count_events(client: httpx.AsyncClient, routing_key: str) -> int:
    async with client.app.state.runtime.sessionmaker() as session:
        query = select(func.count()).where(OutboxMessage.routing_key == routing_key)
        return int((await session.execute(query)).scalar())


# --- the acceptance test: 10,000 rows, 300 bad ------------------------------------------------

HEADER_ZH = [
    "客户名称",
    "客户类型(企业/个人)",
    "所属行业",
    "客户阶段",
    "统一社会信用代码",
    "身份证号",
    "标签",
    "来源",
    "联系人",
    "手机",
    "邮箱",
    "备注",
]
EXISTING_CREDIT_CODE = credit_code(999_999_999)
BAD_KINDS = [
    ("credit_code", "check character does not match"),
    ("id_number", "check digit does not match"),
    ("contact_mobile", "mainland mobile"),
    ("contact_email", "not a valid email"),
    ("name", "is required"),
    ("industry", "is not an administered industry"),
    ("tags", "not administered tags: 不存在的标签"),
    ("lifecycle", "'朋友' is not allowed"),
    ("credit_code", "applies to enterprise customers only"),
    ("credit_code", "already belongs to customer"),
    ("credit_code", "is also in row"),
    ("name", "this name, kind and owner is also in row"),
]


def good_row(n: int) -> list[object]:
    """Three shapes: enterprise with credit code, individual with ID number, enterprise
    identified only by name (natural key); labels in Chinese, a mobile stored as a number."""
    shape = n % 3
    mobile = 13_800_000_000 + n
    if shape == 0:
        return [
            f"星辰科技{n}有限公司",
            "企业客户",
            "制造业",
            "潜在客户",
            credit_code(n),
            None,
            "高预算、决策周期短",
            "展会",
            f"联系人{n}",
            mobile,
            f"c{n}@example.com",
            None,
        ]
    if shape == 1:
        return [
            f"张{n}",
            "个人",
            "retail",
            "intent",
            None,
            id_number(n),
            None,
            "referral",
            None,
            None,
            None,
            "老客户介绍",
        ]
    return [
        f"蓝海贸易{n}号商行",
        "enterprise",
        "Wholesale",
        "意向",
        None,
        None,
        "高预算",
        None,
        f"王{n}",
        str(mobile),
        None,
        None,
    ]


def bad_row(kind: int, n: int, earlier: dict[str, list[object]]) -> list[object]:
    row = good_row(n * 3)  # an enterprise with a credit code, then broken one way
    if kind == 0:
        row[4] = bad_check_char(str(row[4]), "0123456789ABCDEFGHJKLMNPQRTUWXY")
    elif kind == 1:
        row = good_row(n * 3 + 1)
        row[5] = bad_check_char(str(row[5]), "0123456789X")
    elif kind == 2:
        row[9] = "12345678901"
    elif kind == 3:
        row[10] = "not-an-email"
    elif kind == 4:
        row[0] = None
    elif kind == 5:
        row[2] = "炼金术"
    elif kind == 6:
        row[6] = "高预算,不存在的标签"
    elif kind == 7:
        row[3] = "朋友"
    elif kind == 8:
        row[1] = "个人客户"
    elif kind == 9:
        row[4] = EXISTING_CREDIT_CODE
    elif kind == 10:
        row = list(earlier["credit"])
        row[0] = f"{row[0]}(重复)"
    else:
        row = list(earlier["natural"])
        row[9] = None  # other contact, same identity
    return row


def ten_thousand_rows() -> tuple[list[list[object]], dict[int, tuple[str, str]]]:
    """10,000 data rows (sheet rows 2..10001); every 33rd one (300 in all) is bad."""
    rows: list[list[object]] = [HEADER_ZH]
    bad: dict[int, tuple[str, str]] = {}
    earlier: dict[str, list[object]] = {}
    bad_count = 0
    for index in range(10_000):
        sheet_row = index + 2
        if index % 33 == 32 and bad_count < 300:
            kind = bad_count % len(BAD_KINDS)
            rows.append(bad_row(kind, 100_000 + bad_count, earlier))
            bad[sheet_row] = BAD_KINDS[kind]
            bad_count += 1
            continue
        row = good_row(index)
        rows.append(row)
        earlier["credit" if index % 3 == 0 else "natural" if index % 3 == 2 else "id"] = row
    assert bad_count == 300
    return rows, bad


async def test_ten_thousand_rows_with_300_bad_ones(client) -> None:
    # 高预算 and 决策周期短 are among the tags every installation starts with.
    await create_customer(client, credit_code=EXISTING_CREDIT_CODE)
    rows, bad = ten_thousand_rows()
    content = xlsx_bytes(rows)

    started = time.perf_counter()
    dry = await upload(client, content, "客户.xlsx", dry_run=True)
    dry_seconds = time.perf_counter() - started
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["counts"] == {
        "total": 10_000,
        "valid": 9_700,
        "error": 225,
        "duplicate": 75,
        "created": 0,
        "warned": 0,
    }
    problems = {r["row"]: r for r in report["rows"] if r["status"] != "valid"}
    assert set(problems) == set(bad)
    for row_number, (column, words) in bad.items():
        reasons = problems[row_number]["reasons"]
        assert any(r.startswith(f"{column}:") and words in r for r in reasons), (
            row_number,
            reasons,
        )
    assert all(problems[n]["status"] == "duplicate" for n, k in bad.items() if "also in" in k[1])
    assert await count_customers(client) == 1  # a dry run writes no customer

    started = time.perf_counter()
    committed = await upload(client, content, "客户.xlsx", dry_run=False)
    commit_seconds = time.perf_counter() - started
    assert committed.status_code == 201, committed.text
    outcome = committed.json()
    assert outcome["status"] == "completed"
    assert outcome["counts"]["created"] == 9_700
    created = [r for r in outcome["rows"] if r["code"]]
    assert len(created) == 9_700 and len({r["code"] for r in created}) == 9_700
    assert {r["row"] for r in outcome["rows"] if not r["code"]} == set(bad)
    assert await count_customers(client) == 9_701
    assert await count_events(client, "customer.created") == 9_701

    started = time.perf_counter()
    again = await upload(client, content, "客户.xlsx", dry_run=False)
    repeat_seconds = time.perf_counter() - started
    assert again.status_code == 201, again.text
    assert again.json()["counts"]["created"] == 0
    assert again.json()["counts"]["duplicate"] == 9_775
    assert await count_customers(client) == 9_701
    print(  # the timings the issue asks to quote
        f"\n10k-row XLSX: dry run {dry_seconds:.1f}s, commit {commit_seconds:.1f}s, "
        f"repeat {repeat_seconds:.1f}s"
    )

    started = time.perf_counter()
    exported = await client.get("/v1/customers/export", params={"format": "csv"})
    csv_rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(csv_rows) == 1 + 9_701  # batches of 500: tags and contacts read mid-stream
    exported = await client.get("/v1/customers/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(exported.content), read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows(min_row=2)) == 9_701
    export_seconds = time.perf_counter() - started
    print(f"10k customers: CSV + XLSX export {export_seconds:.1f}s")

    listed = (await client.get("/v1/customers/imports")).json()
    assert [i["dry_run"] for i in listed["items"]] == [False, False, True]
    record = (await client.get(f"/v1/customers/imports/{outcome['id']}")).json()
    assert record["counts"]["created"] == 9_700
    assert {r["row"] for r in record["rows"]} == set(bad)
    assert record["sha256"] == report["sha256"]


# --- CSV, headers, values --------------------------------------------------------------------


async def test_csv_with_english_headers_imports_the_full_record(client) -> None:
    content = csv_bytes(
        [
            [
                "Name",
                "Kind",
                "Industry",
                "Lifecycle",
                "Credit Code",
                "ID Number",
                "Tags",
                "Source",
                "Owner ID",
                "Needs",
                "Province",
                "City",
                "Contact Name",
                "Contact Mobile",
                "Contact Email",
                "Contact Position",
                "Unknown Column",
            ],
            [
                "上海星辰科技有限公司",
                "enterprise",
                "it",
                "won",
                credit_code(1),
                "",
                "高预算",
                "exhibition",
                "rep-9",
                "CRM 系统",
                "上海",
                "上海市",
                "李雷",
                "13800138000",
                "li@example.com",
                "采购经理",
                "x",
            ],
            [
                "韩梅梅",
                "individual",
                "finance",
                "prospect",
                "",
                id_number(7),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ]
    )
    response = await upload(client, content, "customers.csv", dry_run=False)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["file_format"] == "csv"
    assert body["ignored_columns"] == ["Unknown Column"]
    assert body["columns"]["Credit Code"] == "credit_code"
    assert [r["status"] for r in body["rows"]] == ["valid", "valid"]

    enterprise = (await client.get(f"/v1/customers/{body['rows'][0]['customer_id']}")).json()
    assert enterprise["lifecycle"] == "won"
    assert enterprise["owner_id"] == "rep-9"  # an admin may import for others
    assert enterprise["tags"] == ["高预算"]
    assert enterprise["source"] == "exhibition"
    assert enterprise["registered_address"]["city"] == "上海市"
    contacts = (await client.get(f"/v1/customers/{enterprise['id']}/contacts")).json()
    assert [(c["name"], c["mobile"], c["is_primary"]) for c in contacts] == [
        ("李雷", "13800138000", True)
    ]
    person = (await client.get(f"/v1/customers/{body['rows'][1]['customer_id']}")).json()
    assert person["owner_id"] == "u-admin"  # blank owner: the importer
    async with client.app.state.runtime.sessionmaker() as session:
        raw = (await session.execute(select(Customer.id_number_encrypted))).scalars().all()
    assert id_number(7) not in str(raw)  # encrypted at rest, as through the API
    assert await count_events(client, "contact.changed") == 1


async def test_chinese_headers_labels_and_gb18030_csv(client) -> None:
    content = csv_bytes(
        [
            [
                "客户信息表\uff082024\uff09"
            ],  # a title above the header, as personal sheets often have
            [],
            ["客户名称*", "客户类型\uff08企业/个人\uff09", "行业", "阶段", "等级", "活跃状态"],
            ["杭州青山茶业有限公司", "企业", "零售业", "成交", "A级", "沉睡"],
        ],
        encoding="gb18030",
    )
    response = await upload(client, content, "客户.csv", dry_run=False)
    assert response.status_code == 201, response.text
    row = response.json()["rows"][0]
    assert (row["row"], row["status"]) == (4, "valid"), row
    customer = (await client.get(f"/v1/customers/{row['customer_id']}")).json()
    assert (customer["kind"], customer["industry"], customer["lifecycle"]) == (
        "enterprise",
        "retail",
        "won",
    )
    assert (customer["grade"], customer["activity_status"]) == ("A", "dormant")


async def test_missing_required_columns_refuse_the_file(client) -> None:
    response = await upload(
        client, csv_bytes([["客户名称", "备注"], ["甲", "乙"]]), "a.csv", dry_run=True
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["missing_columns"] == ["kind", "industry"]


async def test_too_many_rows_refuse_the_file(client) -> None:
    client.app.state.settings.import_max_rows = 3
    rows = [["name", "kind", "industry"]] + [[f"客户{n}", "enterprise", "it"] for n in range(4)]
    response = await upload(client, csv_bytes(rows), "a.csv", dry_run=True)
    assert response.status_code == 422
    assert "more than 3 data rows" in response.json()["detail"]


async def test_duplicates_within_one_file_are_reported_once_imported_once(client) -> None:
    rows = [
        ["name", "kind", "industry", "credit_code", "id_number"],
        ["甲公司", "enterprise", "it", credit_code(5), ""],
        ["甲公司(分部)", "enterprise", "it", credit_code(5), ""],
        ["乙", "individual", "it", "", id_number(5)],
        ["乙二", "individual", "it", "", id_number(5)],
        ["丙 公司", "enterprise", "it", "", ""],
        ["丙公司", "enterprise", "it", "", ""],  # same normalized name, kind and owner
        ["丙公司", "individual", "it", "", ""],  # another kind: another customer
    ]
    body = (await upload(client, csv_bytes(rows), "d.csv", dry_run=False)).json()
    statuses = [(r["row"], r["status"], r["duplicate_of"]) for r in body["rows"]]
    assert statuses == [
        (2, "valid", None),
        (3, "duplicate", {"row": 2}),
        (4, "valid", None),
        (5, "duplicate", {"row": 4}),
        (6, "valid", None),
        (7, "duplicate", {"row": 6}),
        (8, "valid", None),
    ]
    assert await count_customers(client) == 4


async def test_an_exported_list_imported_again_adds_nothing(client) -> None:
    rows = [
        ["name", "kind", "industry", "credit_code", "id_number"],
        ['=HYPERLINK("http://evil")', "enterprise", "it", "", ""],
        ["有信用代码公司", "enterprise", "it", credit_code(8), ""],
        ["个人甲", "individual", "it", "", id_number(8)],
    ]
    assert (await upload(client, csv_bytes(rows), "a.csv", dry_run=False)).status_code == 201
    exported = await client.get("/v1/customers/export", params={"format": "csv"})
    assert "'=HYPERLINK" in exported.text  # quoted: a spreadsheet must not run it
    again = (await upload(client, exported.content, "export.csv", dry_run=True)).json()
    by_name = {r["name"]: r for r in again["rows"]}
    assert by_name['=HYPERLINK("http://evil")']["status"] == "duplicate"
    assert by_name["有信用代码公司"]["status"] == "duplicate"
    # The export masks ID numbers, so that row cannot be taken back as it is:
    assert by_name["个人甲"]["reasons"] == [
        "id_number: is masked (as exported); enter the full ID number"
    ]


async def test_a_failed_batch_leaves_no_half_and_a_rerun_completes(client, monkeypatch) -> None:
    from crm_customers.domain import imports as import_domain

    client.app.state.settings.import_batch_size = 2
    real_add_events, calls = import_domain.add_events, []

    def failing_second_batch(session, events):
        calls.append(len(events))
        if len(calls) == 2:  # customers and contacts of batch 2 are flushed, not committed
            raise RuntimeError("database went away")
        real_add_events(session, events)

    monkeypatch.setattr(import_domain, "add_events", failing_second_batch)
    rows = [["name", "kind", "industry", "contact_name"]] + [
        [f"批次公司{n}", "enterprise", "it", f"联系人{n}"] for n in range(5)
    ]
    with pytest.raises(RuntimeError):
        await upload(client, csv_bytes(rows), "batches.csv", dry_run=False)
    assert await count_customers(client) == 2  # batch 1 only, none of batch 2
    [record] = (await client.get("/v1/customers/imports")).json()["items"]
    assert (record["status"], record["counts"]["created"]) == ("failed", 2)
    assert "database went away" in record["failure"]

    monkeypatch.setattr(import_domain, "add_events", real_add_events)
    rerun = (await upload(client, csv_bytes(rows), "batches.csv", dry_run=False)).json()
    assert (rerun["counts"]["created"], rerun["counts"]["duplicate"]) == (3, 2)
    assert await count_customers(client) == 5
    assert await count_events(client, "contact.changed") == 5


# --- who may import what ---------------------------------------------------------------------


async def test_a_sales_rep_imports_only_for_themselves(client, as_user) -> None:
    rep = as_user("rep-1", "sales_rep")
    rows = [
        ["客户名称", "客户类型", "所属行业", "负责人", "客户等级"],
        ["自己的客户", "企业", "it", "", ""],
        ["写明自己", "企业", "it", "rep-1", ""],
        ["别人的客户", "企业", "it", "rep-2", ""],
        ["自评A级", "企业", "it", "", "A"],
    ]
    response = await upload(rep, csv_bytes(rows), "mine.csv", dry_run=False)
    assert response.status_code == 201, response.text
    reports = response.json()["rows"]
    assert [r["status"] for r in reports] == ["valid", "valid", "error", "error"]
    assert reports[2]["reasons"] == [
        "owner_id: A sales rep can only create customers they own (got 'rep-2')"
    ]
    assert reports[3]["reasons"][0].startswith("grade: A sales rep cannot set a grade by hand")
    listed = (await rep.get("/v1/customers")).json()
    assert {c["owner_id"] for c in listed["items"]} == {"rep-1"} and listed["total"] == 2

    manager = as_user("boss", "sales_manager")
    rows[3][0] = "经理分配的客户"
    response = await upload(manager, csv_bytes(rows), "assign.csv", dry_run=False)
    assert [r["status"] for r in response.json()["rows"]] == [
        "valid",  # 自己的客户 again, but now owned by the manager: another customer
        "duplicate",  # rep-1 already has 写明自己
        "valid",
        "valid",
    ]
    rep2 = as_user("rep-2", "sales_rep")
    assert [c["name"] for c in (await rep2.get("/v1/customers")).json()["items"]] == [
        "经理分配的客户"
    ]


async def test_import_records_are_visible_to_their_author_and_managers(client, as_user) -> None:
    rows = csv_bytes([["name", "kind", "industry"], ["一", "enterprise", "it"]])
    rep1, rep2 = as_user("rep-1", "sales_rep"), as_user("rep-2", "sales_rep")
    mine = (await upload(rep1, rows, "r1.csv", dry_run=True)).json()
    await upload(rep2, rows, "r2.csv", dry_run=True)
    assert [i["file_name"] for i in (await rep1.get("/v1/customers/imports")).json()["items"]] == [
        "r1.csv"
    ]
    assert (await rep2.get(f"/v1/customers/imports/{mine['id']}")).status_code == 404
    assert (await client.get("/v1/customers/imports")).json()["total"] == 2
    viewer = as_user("v", "viewer")
    assert (await upload(viewer, rows, "v.csv", dry_run=True)).status_code == 403


# --- tags: seeded, and created by an admin's import when asked ---------------------------------

SOURCE_DOCUMENT_TAGS = [
    "高预算",
    "决策周期短",
    "竞品客户",
    "转介绍客户",
    "战略合作伙伴",
    "高潜力客户",
]


async def test_a_fresh_installation_knows_the_source_documents_tags(client, as_user) -> None:
    tags = (await client.get("/v1/tags")).json()
    assert {t["name"]: t["active"] for t in tags} == dict.fromkeys(SOURCE_DOCUMENT_TAGS, True)
    assert {t["name"]: t["name_en"] for t in tags}["高预算"] == "High budget"

    rep = as_user("rep-1", "sales_rep")  # a rep's own sheet, as in the issue: 301 rows
    rows = [["客户名称", "客户类型", "所属行业", "标签"]] + [
        [
            f"宁波客户{n}号有限公司",
            "企业",
            "制造业",
            "高预算、决策周期短" if n % 2 else "高潜力客户",
        ]
        for n in range(301)
    ]
    report = (await upload(rep, csv_bytes(rows), "rep.csv", dry_run=False)).json()
    assert (report["counts"]["valid"], report["counts"]["created"]) == (301, 301), report["rows"][
        :3
    ]
    assert report["new_tags"] is None
    first = (await rep.get(f"/v1/customers/{report['rows'][1]['customer_id']}")).json()
    assert set(first["tags"]) == {"高预算", "决策周期短"}


def _tagged_rows() -> list[list[str]]:
    return [
        ["客户名称", "客户类型", "所属行业", "标签"],
        ["温州展会客户甲有限公司", "企业", "it", "展会新客、高预算"],
        ["温州展会客户乙有限公司", "企业", "it", "展会新客; 老乡介绍"],
        ["温州坏行业有限公司", "企业", "不存在的行业", "只在错行里"],  # an error row: not created
        ["温州停用标签有限公司", "企业", "it", "已停用"],
    ]


async def test_an_admin_import_creates_missing_tags_when_asked(client) -> None:
    retired = await client.post("/v1/tags", json={"name": "已停用"})
    patched = await client.patch(f"/v1/tags/{retired.json()['id']}", json={"active": False})
    assert patched.status_code == 200, patched.text
    content = csv_bytes(_tagged_rows())

    plain = (await upload(client, content, "t.csv", dry_run=True)).json()
    assert [r["status"] for r in plain["rows"]] == ["error"] * 4
    assert plain["rows"][1]["reasons"] == ["tags: not administered tags: 展会新客, 老乡介绍"]

    response = await client.post(
        "/v1/customers/imports",
        params={"dry_run": "true", "create_missing_tags": "true"},
        files={"file": ("t.csv", content, "text/csv")},
    )
    assert response.status_code == 200, response.text
    dry = response.json()
    assert [r["status"] for r in dry["rows"]] == ["valid", "valid", "error", "error"]
    assert dry["new_tags"] == ["展会新客", "老乡介绍"]  # not 只在错行里, never 已停用 again
    assert dry["rows"][3]["reasons"] == ["tags: not administered tags: 已停用"]
    names = {t["name"] for t in (await client.get("/v1/tags")).json()}
    assert "展会新客" not in names and "老乡介绍" not in names  # a dry run creates nothing
    assert (await client.get(f"/v1/customers/imports/{dry['id']}")).json()["new_tags"] == [
        "展会新客",
        "老乡介绍",
    ]

    response = await client.post(
        "/v1/customers/imports",
        params={"dry_run": "false", "create_missing_tags": "true"},
        files={"file": ("t.csv", content, "text/csv")},
    )
    assert response.status_code == 201, response.text
    done = response.json()
    assert (done["counts"]["created"], done["new_tags"]) == (2, ["展会新客", "老乡介绍"])
    tags = {
        t["name"]: t
        for t in (await client.get("/v1/tags", params={"include_inactive": "true"})).json()
    }
    assert tags["展会新客"]["active"] and tags["老乡介绍"]["active"]
    assert "只在错行里" not in tags and not tags["已停用"]["active"]
    second = (await client.get(f"/v1/customers/{done['rows'][1]['customer_id']}")).json()
    assert set(second["tags"]) == {"展会新客", "老乡介绍"}

    again = await client.post(
        "/v1/customers/imports",
        params={"dry_run": "false", "create_missing_tags": "true"},
        files={"file": ("t.csv", content, "text/csv")},
    )
    assert again.json()["new_tags"] == []  # they exist now; the rows are duplicates
    assert again.json()["counts"]["duplicate"] == 2


async def test_a_rep_cannot_create_tags_by_importing(client, as_user) -> None:
    rep = as_user("rep-1", "sales_rep")
    content = csv_bytes(_tagged_rows()[:2])
    refused = await rep.post(
        "/v1/customers/imports",
        params={"dry_run": "true", "create_missing_tags": "true"},
        files={"file": ("t.csv", content, "text/csv")},
    )
    assert refused.status_code == 403, refused.text
    assert "create_missing_tags" in refused.json()["detail"]
    report = (await upload(rep, content, "t.csv", dry_run=False)).json()
    assert report["rows"][0]["reasons"] == ["tags: not administered tags: 展会新客"]
    assert report["counts"]["created"] == 0
    assert "展会新客" not in {t["name"] for t in (await client.get("/v1/tags")).json()}


# --- warnings like the API's possible-duplicate -----------------------------------------------


async def test_rows_like_existing_customers_are_warned_of_and_imported_flagged(client) -> None:
    existing = await client.post(
        "/v1/customers",
        json={
            "kind": "enterprise",
            "name": "杭州西湖电子科技有限公司",
            "industry": "manufacturing",
            "contacts": [{"name": "周", "mobile": "13912345678"}],
        },
    )
    assert existing.status_code == 201, existing.text
    known = existing.json()
    rows = [
        ["客户名称", "客户类型", "所属行业", "联系人", "手机", "负责人"],
        # another owner's: not the same customer by the natural key, but a similar name
        ["杭州 西湖电子科技 有限公司", "企业", "制造业", "吴", "13700000001", "rep-9"],
        ["南京紫金农业有限公司", "企业", "农、林、牧、渔业", "郑", "13912345678", ""],
        ["乌鲁木齐天山畜牧合作社", "企业", "agriculture", "王", "13700000002", ""],
    ]
    content = csv_bytes(rows)
    pointer = {"id": known["id"], "code": known["code"], "name": known["name"]}

    dry = (await upload(client, content, "w.csv", dry_run=True)).json()
    assert [r["status"] for r in dry["rows"]] == ["valid"] * 3  # warned rows stay importable
    assert dry["counts"]["warned"] == 2 and dry["counts"]["valid"] == 3
    similar, same_mobile, clean = dry["rows"]
    assert similar["possible_duplicates"] == [{**pointer, "reason": "similar_name"}]
    assert similar["warnings"] == [f"name: looks like customer {known['code']} ({known['name']})"]
    assert same_mobile["possible_duplicates"] == [
        {**pointer, "reason": "same_contact_mobile:13912345678"}
    ]
    assert same_mobile["warnings"] == [
        f"contact_mobile: 13912345678 is already a contact's mobile at customer {known['code']} "
        f"({known['name']})"
    ]
    assert (clean["warnings"], clean["possible_duplicates"]) == ([], [])

    # The API warns of the same rows with the same candidates.
    for row, report in ((rows[1], similar), (rows[2], same_mobile)):
        answer = await client.post(
            "/v1/customers",
            json={
                "kind": "enterprise",
                "name": row[0],
                "industry": "agriculture",
                "contacts": [{"name": row[3], "mobile": row[4]}],
            },
        )
        assert answer.status_code == 409, answer.text
        assert answer.json()["candidates"] == report["possible_duplicates"]
    assert await count_customers(client) == 1

    committed = await upload(client, content, "w.csv", dry_run=False)
    assert committed.status_code == 201, committed.text
    outcome = committed.json()
    assert (outcome["counts"]["created"], outcome["counts"]["warned"]) == (3, 2)
    assert outcome["rows"][0]["warnings"] == similar["warnings"] and outcome["rows"][0]["code"]
    record = (await client.get(f"/v1/customers/imports/{outcome['id']}")).json()
    assert [(r["row"], r["status"], bool(r["code"])) for r in record["rows"]] == [
        (2, "valid", True),
        (3, "valid", True),
    ]
    assert record["rows"][1]["possible_duplicates"] == same_mobile["possible_duplicates"]
    assert record["counts"]["warned"] == 2


async def test_the_upload_limit_is_raised_for_imports_only(client) -> None:
    big = b"x" * (2 * 1_048_576)
    response = await client.post(
        "/v1/customers", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    response = await upload(
        client, b"name,kind,industry\r\n" + b",,\r\n" * 600_000, "a.csv", dry_run=True
    )
    assert response.status_code == 200, response.text


async def test_template_lists_every_import_column(client) -> None:
    response = await client.get("/v1/customers/imports/template", params={"format": "xlsx"})
    assert response.status_code == 200
    header = next(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert header[:3] == ("客户名称", "客户类型", "所属行业")
    assert "attachment" in response.headers["content-disposition"]


# --- export ----------------------------------------------------------------------------------


async def _seed(client, as_user) -> None:
    rep = as_user("rep-1", "sales_rep")
    await create_customer(
        rep,
        name="甲科技",
        lifecycle="won",
        tags=["战略合作伙伴"],
        credit_code=credit_code(11),
        contacts=[{"name": "李雷", "mobile": "13800138000"}],
    )
    await create_individual(rep, name="乙先生", industry="finance", id_number=id_number(11))
    await create_customer(client, name="丙贸易", industry="wholesale", owner_id="rep-2")


async def test_export_xlsx_round_trip(client, as_user) -> None:
    await _seed(client, as_user)
    response = await client.get("/v1/customers/export", params={"format": "xlsx", "sort": "code"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="customers-') and ".xlsx" in disposition
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    header = rows[0]
    assert header[:4] == ("客户编号", "客户名称", "客户类型", "所属行业")
    records = [dict(zip(header, (cell_text(v) for v in row), strict=True)) for row in rows[1:]]
    assert [r["客户名称"] for r in records] == ["甲科技", "乙先生", "丙贸易"]
    first = next(r for r in records if r["客户名称"] == "甲科技")
    assert (first["客户类型"], first["所属行业"], first["客户阶段"]) == (
        "企业客户",
        "信息传输、软件和信息技术服务业",
        "成交客户",
    )
    assert (first["标签"], first["联系人"], first["手机"]) == (
        "战略合作伙伴",
        "李雷",
        "13800138000",
    )
    assert first["统一社会信用代码"] == credit_code(11)
    person = next(r for r in records if r["客户名称"] == "乙先生")
    assert person["身份证号"] == id_number(11)[:4] + "*" * 10 + id_number(11)[-4:]

    again = (await upload(client, response.content, "export.xlsx", dry_run=True)).json()
    assert again["ignored_columns"] == []
    assert [r["status"] for r in again["rows"]].count("duplicate") == 2  # the person: masked ID


async def test_export_csv_applies_the_list_filters(client, as_user) -> None:
    await _seed(client, as_user)
    response = await client.get(
        "/v1/customers/export", params={"format": "csv", "lifecycle": "won"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][1] == "客户名称"
    assert [r[1] for r in rows[1:]] == ["甲科技"]
    by_owner = await client.get(
        "/v1/customers/export", params={"format": "csv", "owner_id": "rep-2"}
    )
    assert [r[1] for r in list(csv.reader(io.StringIO(by_owner.text.lstrip("\ufeff"))))[1:]] == [
        "丙贸易"
    ]


async def test_a_sales_rep_exports_only_their_own_customers(client, as_user) -> None:
    await _seed(client, as_user)
    rep = as_user("rep-1", "sales_rep")
    for fmt in ("csv", "xlsx"):
        response = await rep.get(
            "/v1/customers/export", params={"format": fmt, "owner_id": "rep-2"}
        )
        assert response.status_code == 200
        response = await rep.get("/v1/customers/export", params={"format": fmt})
        if fmt == "csv":
            names = [r[1] for r in csv.reader(io.StringIO(response.text.lstrip("\ufeff")))][1:]
        else:
            sheet = load_workbook(io.BytesIO(response.content)).active
            names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert sorted(names) == sorted(["甲科技", "乙先生"]), fmt
    other = await rep.get("/v1/customers/export", params={"format": "csv", "owner_id": "rep-2"})
    assert other.text.lstrip("\ufeff").count("\n") == 1  # the header only


async def test_export_takes_every_filter_of_the_list(client) -> None:
    paths = client.app.openapi()["paths"]

    def parameters(path: str) -> set[str]:
        return {p["name"] for p in paths[path]["get"]["parameters"]}

    missing = (
        parameters("/v1/customers") - {"page", "page_size"} - parameters("/v1/customers/export")
    )
    assert not missing, f"add {missing} to api/customer_filter.py"


async def test_xlsx_export_has_a_size_limit(client, as_user) -> None:
    await _seed(client, as_user)
    client.app.state.settings.export_xlsx_max_rows = 2
    response = await client.get("/v1/customers/export")
    assert response.status_code == 422
    assert "export as CSV" in response.json()["detail"]


# --- SQLite and the pure parts ---------------------------------------------------------------


async def test_import_and_export_on_sqlite_too(tmp_path, amqp_url, token_for, monkeypatch) -> None:
    from crm_customers.domain import exports

    monkeypatch.setattr(exports, "BATCH", 2)  # tags and contacts read while the list streams
    settings = CustomersSettings(
        database_url=await migrated_sqlite(tmp_path),
        amqp_url=amqp_url,
        relay_enabled=False,
        consumer_enabled=False,
        import_batch_size=2,
    )
    rows = [["name", "kind", "industry", "credit_code", "contact_name"]] + [
        [f"公司{n}", "enterprise", "it", credit_code(n), f"联系人{n}"] for n in range(5)
    ]
    async with app_client(settings, token_for()) as client:
        first = (await upload(client, csv_bytes(rows), "a.csv", dry_run=False)).json()
        second = (await upload(client, csv_bytes(rows), "a.csv", dry_run=False)).json()
        async with client.app.state.runtime.sessionmaker() as session:
            contacts = (await session.execute(select(func.count(Contact.id)))).scalar()
        exported = await client.get("/v1/customers/export", params={"format": "csv"})
        xlsx = await client.get("/v1/customers/export", params={"format": "xlsx"})
    assert first["counts"]["created"] == 5 and second["counts"]["duplicate"] == 5
    listed = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    contact_column = listed[0].index("联系人")
    assert sorted(r[contact_column] for r in listed[1:]) == [f"联系人{n}" for n in range(5)]
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == 6
    assert sorted(r["code"][-3:] for r in first["rows"]) == ["001", "002", "003", "004", "005"]
    assert contacts == 5


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("客户类型(企业/个人)", "客户类型"),
        ("客户名称*", "客户名称"),
        ("Contact Mobile", "contact_mobile"),
        ("身份证号\uff08选填\uff09", "身份证号"),
    ],
)
def test_headers_are_normalized(header: str, expected: str) -> None:
    assert normalize_header(header) == expected


def test_cells_and_tags_read_like_a_person_means_them() -> None:
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text("  甲  ") == "甲"
    assert cell_text("'=1+1") == "=1+1"
    assert split_tags("高预算、决策周期短\uff0c竞品客户; 转介绍客户") == [
        "高预算",
        "决策周期短",
        "竞品客户",
        "转介绍客户",
    ]
