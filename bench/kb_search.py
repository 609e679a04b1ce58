"""Knowledge-base search benchmark: 100,000 articles, mixed Chinese and English, searched
through the service-desk's own domain function (``domain.kb.list_articles``, the code
``GET /v1/kb/articles`` runs), in-process on an engine made as the service makes it; the
HTTP edge is left out so the figure is the search's own.

1. The given PostgreSQL database is migrated with the service-desk's Alembic migrations (the
   trigram and tag GIN indexes production gets).
2. ``articles`` articles are generated deterministically (seeded) and bulk-loaded with COPY
   (asyncpg ``copy_records_to_table``): 70 % Chinese, 20 % English, 10 % mixed; questions
   as 品牌 + 产品 + 型号 + 症状 (``惠普打印机 M1136 频繁卡纸怎么办？``), answers of 3-7 steps
   (150-450 characters) naming components, menus, error codes, versions and hotline
   numbers, 1-3 tags, 90 % published (7 % drafts, 3 % archived), use counts Zipf-like. The
   GIN indexes are dropped before the COPY and rebuilt after it from their migrated
   definitions, then VACUUM ANALYZE.
3. ``queries`` searches, sequentially (latency), after a warm-up, as a sales rep (published
   articles only), first page of 20 with its total: half a phrase of 4-8 characters (or two
   English words) cut from the middle of a random article's answer, a fifth a product model
   or brand + product, the rest a phrase of a question or two words (``打印机 卡纸``).
   Target: p95 well under 50 ms (key ``kb_search_p95_ms``). Apart from it, 1-2 character
   Chinese queries (no trigram: a scan, correct but slower) are timed as ``short_queries``.

``measure_kb_search(database_url)`` does 1-3 on a database the caller made; ``__main__``
creates one, runs it, drops it, and writes ``bench/results/kb_search-<UTC timestamp>.json``
and ``bench/results/kb_search-latest.json``.

Run from the repository root: ``uv run --frozen python bench/kb_search.py`` (``--help``).
"""

# Generated Chinese text carries full-width punctuation, as real articles do.
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # run as a script or with -m
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
from reporting import REPO_ROOT, percentiles_ms, run_facts, write_results

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.identity import Identity
from crm_platform.migrations import upgrade
from crm_platform.testing import create_database, drop_database, run_id
from crm_service_desk.__main__ import MIGRATIONS_DIR
from crm_service_desk.domain import kb
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.settings import Settings

SEED = 20261130
COPY_BATCH = 10_000
WARMUP = 50
SHORT_QUERIES = 60
TARGET_P95_MS = 50.0
COLUMNS = (
    "id",
    "question",
    "answer",
    "tags",
    "status",
    "use_count",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "published_at",
    "version",
)
GIN_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename = 'kb_article' AND indexdef LIKE '% USING gin %'
"""


def _words(text: str, sep: str | None = None) -> list[str]:
    return [word.strip() for word in text.split(sep)]


BRANDS_ZH = _words(
    "惠普 联想 华为 小米 戴尔 佳能 爱普生 海康威视 新华三 锐捷 用友 金蝶 兄弟 奔图 富士施乐"
)
PRODUCTS_ZH = _words(
    "打印机 笔记本电脑 路由器 交换机 扫描仪 投影仪 摄像头 服务器 财务软件 考勤机 门禁系统 "
    "移动硬盘 显示器 复印机 无线网关 录像机 台式机 一体机 平板电脑 会议平板"
)
SYMPTOMS_ZH = _words(
    "无法开机 频繁死机 频繁卡纸 无法连接网络 打印字迹模糊 屏幕闪烁 无法登录 数据同步失败 "
    "运行缓慢 发出异响 无法识别设备 蓝屏重启 充电异常 指示灯一直闪烁 授权过期 升级后无法启动 "
    "扫描件发黑 无线信号弱 录像丢失 报表导出乱码 自动关机 风扇噪音大"
)
COMPONENTS_ZH = _words(
    "进纸轮 硒鼓 网线 电源适配器 主板 风扇 内存条 硬盘 无线网卡 固件 驱动程序 散热器 "
    "数据线 天线 电池 定影器 扫描头 镜头 存储卡 光纤模块"
)
MENUS_ZH = _words("网络设置 高级选项 账户管理 系统维护 安全中心 打印首选项 设备管理器 存储管理")
STEPS_ZH = (
    "请先关闭{product}的电源，等待{n}秒后重新开启。",
    "打开{product}的后盖，检查{component}是否松动或有异物，如有请小心取出。",
    "进入{menu}，找到{component}相关选项，将其恢复为默认值后保存。",
    "在管理后台点击{menu}，重新配置{component}并重启{product}。",
    "如果仍然{symptom}，请拨打售后服务热线400-{n4}并提供序列号{serial}。",
    "确认{component}连接牢固，必要时更换新的{component}。",
    "从官网下载最新的{component}（版本{version}）并按提示安装。",
    "用干布清理{component}上的灰尘，然后重新测试{product}。",
    "查看系统日志，若出现错误代码{code}，说明{component}损坏，需要返厂维修。",
    "将{product}升级到{version}版本，升级过程中不要断电。",
)
BRANDS_EN = _words("HP Lenovo Huawei Dell Canon Epson Cisco Brother Xerox Logitech")
PRODUCTS_EN = _words(
    "printer laptop router switch scanner projector camera server monitor dock headset"
)
SYMPTOMS_EN = _words(
    "will not power on|keeps freezing|paper jam|cannot connect to Wi-Fi|blurry prints|"
    "screen flickers|login fails|sync error|runs slowly|makes a clicking noise|"
    "device not recognised|blue screen|battery not charging|license expired",
    sep="|",
)
COMPONENTS_EN = _words(
    "feed roller|toner cartridge|network cable|power adapter|fan|memory module|hard drive|"
    "wireless card|firmware|driver|battery|fuser unit|docking cable",
    sep="|",
)
STEPS_EN = (
    "Turn the {product} off, wait {n} seconds and turn it on again.",
    "Open the rear cover and check that the {component} is seated correctly.",
    "Download the latest {component} (version {version}) from the vendor site and install it.",
    "If the {product} still shows error {code}, replace the {component}.",
    "Clean the {component} with a dry cloth and test the {product} again.",
    "Reset the {component} settings to their defaults in the admin console.",
    "Call the service hotline 400-{n4} with serial number {serial} if it happens again.",
)
PUNCTUATION = set("，。？！、（）：；,.?!():; -")


class Corpus:
    """The generated articles (kept in memory: the queries are cut from them)."""

    def __init__(self, articles: int, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.models = [
            f"{self.rng.choice('ABCDEFGHKLMPRSTX')}{self.rng.randint(100, 9999)}"
            for _ in range(3000)
        ]
        self.rows: list[tuple[Any, ...]] = []
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for n in range(articles):
            roll = self.rng.random()
            question, answer, tags = (
                self._chinese() if roll < 0.7 else self._english() if roll < 0.9 else self._mixed()
            )
            status_roll = self.rng.random()
            status = (
                "published" if status_roll < 0.9 else "draft" if status_roll < 0.97 else "archived"
            )
            created = start + timedelta(minutes=n * 9)
            self.rows.append(
                (
                    uuid.UUID(int=self.rng.getrandbits(128), version=4),
                    question,
                    answer,
                    json.dumps(tags, ensure_ascii=False),
                    status,
                    int(self.rng.paretovariate(1.2)) - 1,
                    "u-agent",
                    created,
                    "u-agent",
                    created,
                    created if status == "published" else None,
                    1,
                )
            )

    def _facts(self) -> dict[str, Any]:
        r = self.rng
        return {
            "n": r.choice((5, 10, 15, 30, 60)),
            "n4": r.randint(1000, 9999),
            "serial": f"SN{r.randint(10**7, 10**8 - 1)}",
            "version": f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}",
            "code": f"E{r.randint(10, 999):03d}",
        }

    def _chinese(self) -> tuple[str, str, list[str]]:
        r = self.rng
        brand, product, symptom = r.choice(BRANDS_ZH), r.choice(PRODUCTS_ZH), r.choice(SYMPTOMS_ZH)
        model = r.choice(self.models)
        question = f"{brand}{product} {model} {symptom}怎么办？"
        facts = self._facts()
        steps = [
            template.format(
                product=f"{brand}{product}",
                component=r.choice(COMPONENTS_ZH),
                menu=r.choice(MENUS_ZH),
                symptom=symptom,
                **facts,
            )
            for template in r.sample(STEPS_ZH, r.randint(3, 7))
        ]
        return question, "".join(steps), [product, brand, symptom[:4]][: r.randint(1, 3)]

    def _english(self) -> tuple[str, str, list[str]]:
        r = self.rng
        brand, product, symptom = r.choice(BRANDS_EN), r.choice(PRODUCTS_EN), r.choice(SYMPTOMS_EN)
        question = f"{brand} {product} {r.choice(self.models)}: {symptom}"
        facts = self._facts()
        steps = [
            template.format(product=product, component=r.choice(COMPONENTS_EN), **facts)
            for template in r.sample(STEPS_EN, r.randint(3, 6))
        ]
        return question, " ".join(steps), [product, brand.lower()][: r.randint(1, 2)]

    def _mixed(self) -> tuple[str, str, list[str]]:
        question, answer, tags = self._chinese()
        _, english, _ = self._english()
        return question, answer + " " + english, [*tags, "english"]

    def records(self) -> Iterator[tuple[Any, ...]]:
        yield from self.rows


class Queries:
    """What people type into the search box, cut from the corpus (deterministic)."""

    def __init__(self, corpus: Corpus, seed: int = SEED + 1) -> None:
        self.rng = random.Random(seed)
        self.published = [row for row in corpus.rows if row[4] == "published"]
        self.models = corpus.models

    def _answer_phrase(self) -> str:
        answer = self.rng.choice(self.published)[2]
        if answer.isascii():
            words = answer.split()
            i = self.rng.randrange(len(words) - 1)
            return " ".join(w.strip(".,:") for w in words[i : i + 2])
        for _ in range(50):
            length = self.rng.randint(4, 8)
            i = self.rng.randrange(len(answer) - length)
            phrase = answer[i : i + length]
            if not set(phrase) & PUNCTUATION:
                return phrase
        return answer[:6]

    def _question_phrase(self) -> str:
        question = self.rng.choice(self.published)[1]
        words = [w for w in question.replace("？", " ").replace(":", " ").split() if len(w) >= 3]
        word = self.rng.choice(words)
        if word.isascii():
            return word
        length = min(len(word), self.rng.randint(3, 6))
        i = self.rng.randrange(len(word) - length + 1)
        return word[i : i + length]

    def next(self) -> str:
        roll = self.rng.random()
        r = self.rng
        if roll < 0.5:
            return self._answer_phrase()
        if roll < 0.6:
            return r.choice(self.models)
        if roll < 0.7:
            return r.choice(BRANDS_ZH) + r.choice(PRODUCTS_ZH)
        if roll < 0.85:
            return self._question_phrase()
        return f"{r.choice(PRODUCTS_ZH)} {r.choice(SYMPTOMS_ZH)[:2]}"

    def short(self) -> str:
        """1-2 Chinese characters: no trigram, so no trigram index."""
        word = self.rng.choice(COMPONENTS_ZH + SYMPTOMS_ZH)
        return word[:2] if self.rng.random() < 0.8 else word[:1]


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _build(dsn: str, definitions: Sequence[str]) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET maintenance_work_mem = '512MB'")
        for definition in definitions:
            await connection.execute(definition)
    finally:
        await connection.close()


async def load(database_url: str, corpus: Corpus) -> dict[str, float]:
    """COPY the articles in with the GIN indexes dropped, rebuild them (two connections),
    VACUUM ANALYZE."""
    dsn = _dsn(database_url)
    connection = await asyncpg.connect(dsn)
    timings: dict[str, float] = {}
    try:
        indexes = await connection.fetch(GIN_INDEXES)
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        started = time.perf_counter()
        rows = corpus.rows
        for i in range(0, len(rows), COPY_BATCH):
            await connection.copy_records_to_table(
                "kb_article", records=rows[i : i + COPY_BATCH], columns=COLUMNS
            )
        timings["copy_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        definitions = [index["indexdef"] for index in indexes]
        await asyncio.gather(_build(dsn, definitions[0::2]), _build(dsn, definitions[1::2]))
        timings["index_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await connection.execute("VACUUM (ANALYZE) kb_article")
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
        sizes = await connection.fetchrow(
            "SELECT pg_relation_size('kb_article') AS heap,"
            " pg_indexes_size('kb_article') AS indexes"
        )
        timings["table_mb"] = round(sizes["heap"] / 2**20, 1)
        timings["indexes_mb"] = round(sizes["indexes"] / 2**20, 1)
    finally:
        await connection.close()
    return timings


async def _timed_searches(
    database_url: str, terms: Sequence[str], warmup: int
) -> tuple[list[float], list[int]]:
    settings = Settings(database_url=database_url)
    rep = RequestContext(
        identity=Identity(subject="u-rep", roles=frozenset({"sales_rep"}), name="rep"),
        settings=settings,
    )
    engine = create_engine(database_url, pool_size=2)
    sessions = create_sessionmaker(engine)
    durations: list[float] = []
    totals: list[int] = []
    try:
        for n, term in enumerate(terms):
            started = time.perf_counter()
            async with sessions() as session, session.begin():
                found = await kb.list_articles(session, rep, q=term, page_size=20)
            if n >= warmup:
                durations.append(time.perf_counter() - started)
                totals.append(found.total)
    finally:
        await engine.dispose()
    return durations, totals


async def measure_kb_search(
    database_url: str, articles: int = 100_000, queries: int = 500
) -> dict[str, Any]:
    """Migrate ``database_url`` (an empty PostgreSQL database), fill it with ``articles``
    articles and time ``queries`` searches through ``domain.kb.list_articles``."""
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, database_url)
    started = time.perf_counter()
    corpus = Corpus(articles)
    generate_seconds = round(time.perf_counter() - started, 1)
    print(f"  generated {articles:,} articles in {generate_seconds}s; loading ...")
    loaded = await load(database_url, corpus)
    print(f"  loaded: {loaded}")
    made = Queries(corpus)
    terms = [made.next() for _ in range(WARMUP + queries)]
    durations, totals = await _timed_searches(database_url, terms, WARMUP)
    short_terms = [made.short() for _ in range(5 + SHORT_QUERIES)]
    short_durations, short_totals = await _timed_searches(database_url, short_terms, 5)
    main = percentiles_ms(durations)
    short = percentiles_ms(short_durations)
    return {
        "kb_search_p50_ms": main["p50"],
        "kb_search_p95_ms": main["p95"],
        "kb_search_p99_ms": main["p99"],
        "articles": articles,
        "queries": queries,
        "through": "domain.kb.list_articles in-process (first page of 20 and total, as a rep)",
        "search": main,
        "matches": {
            "median": sorted(totals)[len(totals) // 2],
            "max": max(totals),
            "none": sum(1 for t in totals if t == 0),
        },
        "short_queries": {**short, "median_matches": sorted(short_totals)[len(short_totals) // 2]},
        "load": {"generate_seconds": generate_seconds, **loaded},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    database = f"bench_kb_{run_id()}"
    url = await create_database(database)
    try:
        print(f"kb search bench on {database}")
        result = await measure_kb_search(url, args.articles, args.queries)
    finally:
        if args.keep_database:
            print(f"  kept database {database} (--keep-database): {url}")
        else:
            await drop_database(database)
    result["target_p95_ms"] = TARGET_P95_MS
    result["pass"] = result["kb_search_p95_ms"] <= TARGET_P95_MS
    result.update(run_facts())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500, help="measured, after a warm-up")
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the loaded database (for EXPLAIN)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    os.chdir(REPO_ROOT)
    result = asyncio.run(run(args))
    path = write_results("kb_search", result)
    search, short = result["search"], result["short_queries"]
    print(
        f"  search ({result['queries']} queries, {result['articles']:,} articles): "
        f"p50 {search['p50']} ms, p95 {search['p95']} ms, p99 {search['p99']} ms "
        f"(target p95 <= {TARGET_P95_MS} ms: {'pass' if result['pass'] else 'FAIL'}); "
        f"matches {result['matches']}"
    )
    print(f"  1-2 character queries: p50 {short['p50']} ms, p95 {short['p95']} ms")
    print(f"\n  results: {path.relative_to(REPO_ROOT)} (and kb_search-latest.json)")
    if args.check and not result["pass"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
