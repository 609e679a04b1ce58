"""Service-desk benchmark: one SLA scan over 100,000 open tickets, ticket creation through the
service at 32 connections, and knowledge-base search at 100,000 articles.

1. A fresh PostgreSQL database is migrated with the service-desk's Alembic migrations (the
   ``default`` team and 24x7 ``default`` calendar, the SPEC's SLA targets, all seeded).
2. Bulk load with COPY (asyncpg ``copy_records_to_table``), secondary indexes dropped before
   and rebuilt after from their migrated definitions (``pg_indexes.indexdef``), then VACUUM
   ANALYZE and a CHECKPOINT:
   5,000 customers in the replica (1 % archived); four teams (``default`` working by hand
   with a supervisor, ``field`` and ``online`` round robin, ``vip`` least busy) and 50 agents;
   100,000 OPEN tickets created over the last 3 days (more by day, Shanghai time) with a
   realistic mix (10 % complaints, always high and urgent; the others 15 % high, 55 %
   medium, 30 % low; consultations, technical support, repairs, visits, suggestions), the
   older the likelier assigned (~15 % still pending), most assigned ones first-responded,
   8 % of those waiting on the customer; 200,000 resolved or closed tickets over the year
   before (repairs and visits with their callback, reminded once due); one ``created`` (and
   ``assigned``) log line per ticket; the per-year ``ticket_serial`` rows. Each ticket's
   ``sla_clock`` rows are what the service would have written: ``targets_for`` over
   ``DEFAULT_TARGETS``, ``start_clock`` on the 24x7 calendar at its creation, ``stop_clock``
   at its assignment, first response and resolution, ``pause_clock`` when it waits; the
   warning and breach marks as a checker polling every 15 s set them, up to the moment it
   last ran, ``--outage-minutes`` (60) before the bench's "now" (a deploy, say): every clock
   whose warning or due moment fell in that gap is still to be published (about 4,700
   clocks: 3.5 % of the ~135,000 running ones), with the callbacks that came due meanwhile.
3. ``sla_scan_s``: one ``SlaChecker.check_once()`` in-process on an engine made as the
   service makes it (``crm_platform.db.create_engine`` with the service's ``Settings``), its
   clock fixed at "now": timed, with the warnings, breaches and callbacks it published;
   checked: exactly one outbox row per claimed clock (and callback), each clock marked at
   "now", nothing left past its moment unmarked; then a second scan right after, which must
   claim nothing (its time: the steady-state cost of a round), and ``count_open()`` (the
   other half of a round). Target: <= 2 s.
4. The service runs as a real process (``ServiceProcess``, ``crm-service-desk serve``, its
   SLA checker off, its outbox relay on) on that database and a throwaway RabbitMQ vhost.
   ``POST /v1/tickets`` at 32 connections for ``--seconds`` (15) after a warm-up, as service
   agents, on random customers, with Chinese descriptions, the type/priority mix above and
   the teams' mix (so the automatic strategies and the supervisor rule run): throughput,
   p50/p99 (key ``ticket_create_rps``), CPU per create (this process, PostgreSQL).
   ``--profile`` samples the service process with py-spy during the measured window and
   prints its top frames (the figures of a profiled run include the sampling's cost).
5. ``kb_search_p95_ms``: ``measure_kb_search`` of ``bench/kb_search.py`` on a database of
   its own (100,000 articles); recorded as null with a note where that module is absent.

Results go to ``bench/results/service_desk-<UTC timestamp>.json`` and
``bench/results/service_desk-latest.json``. The databases and the vhost are removed in a
``finally`` (unless ``--keep-database``).

Run from the repository root: ``uv run --frozen python bench/service_desk.py`` (or
``make bench-service-desk``); ``--help`` lists the knobs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if str(Path(__file__).resolve().parent) not in sys.path:  # run as a script or with -m
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import httpx
from event_path import CpuMeter
from reporting import (
    REPO_ROOT,
    percentiles_ms,
    run_facts,
    start_profiler,
    stop_profiler,
    top_frames,
    write_results,
)
from sqlalchemy import text

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.identity import mint_internal_token
from crm_platform.migrations import upgrade
from crm_platform.settings import DEV_INTERNAL_TOKEN_SECRET
from crm_platform.testing import (
    PG_ADMIN_DSN,
    ServiceProcess,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    run_id,
)
from crm_service_desk.__main__ import MIGRATIONS_DIR
from crm_service_desk.domain.calendars import BusinessCalendar
from crm_service_desk.domain.enums import CALLBACK_TYPES, Priority, TicketType
from crm_service_desk.domain.sla import (
    DEFAULT_TARGETS,
    ClockKind,
    ClockState,
    pause_clock,
    start_clock,
    stop_clock,
    targets_for,
)
from crm_service_desk.domain.sla_checker import SlaChecker
from crm_service_desk.settings import Settings as DeskSettings

LOG_DIR = REPO_ROOT / "var" / "bench-logs"
SEED = 20261130
CUSTOMERS = 5_000
COPY_BATCH = 20_000
CONNECTIONS = 32
TARGET_SLA_SCAN_S = 2.0
POLL = timedelta(seconds=15)  # the checker's default poll interval: when marks were set
OPEN_SPAN = timedelta(days=3)
HISTORY_SPAN = timedelta(days=365)
WARMUP_SECONDS = 3.0
TABLES = ("customer_replica", "ticket", "sla_clock", "ticket_log", "ticket_callback")

TICKET_COLUMNS = (
    "id", "code", "year", "serial", "customer_id", "customer_name", "contact_id", "title",
    "description", "ticket_type", "priority", "status", "urgent", "mood", "channel", "cause",
    "team_key", "assignee_id", "assigned_at", "first_response_at", "waiting_since", "resolution",
    "resolved_at", "resolved_by", "closed_at", "reopen_count", "satisfaction",
    "satisfaction_comment", "satisfaction_at", "created_by", "created_at", "updated_at",
    "version",
)  # fmt: skip
CLOCK_COLUMNS = (
    "id", "ticket_id", "kind", "round", "target_seconds", "started_at", "due_at", "warn_at",
    "paused_at", "warn_ratio", "remaining_seconds", "warn_remaining_seconds", "paused_seconds",
    "warn_paused_seconds", "stopped_at", "outcome", "warning_sent_at", "breach_sent_at",
)  # fmt: skip
LOG_COLUMNS = ("id", "seq", "ticket_id", "at", "actor_id", "action", "note", "details")
CALLBACK_COLUMNS = (
    "id", "ticket_id", "assignee_id", "due_at", "reminded_at", "done_at", "outcome",
    "cancelled_at", "created_at",
)  # fmt: skip
REPLICA_COLUMNS = (
    "id", "code", "name", "owner_id", "grade", "lifecycle", "archived", "source_version",
    "source_event_time", "replicated_at",
)  # fmt: skip

TYPES = (
    TicketType.CONSULTATION, TicketType.COMPLAINT, TicketType.SUGGESTION,
    TicketType.TECH_SUPPORT, TicketType.REPAIR, TicketType.VISIT,
)  # fmt: skip
TYPE_WEIGHTS = (25, 10, 7, 30, 20, 8)
PRIORITIES = (Priority.HIGH, Priority.MEDIUM, Priority.LOW)
PRIORITY_WEIGHTS = (15, 55, 30)
CHANNELS = ("phone", "wechat", "email", "web", "visit", "other")
CHANNEL_WEIGHTS = (45, 25, 12, 10, 5, 3)
MOODS = ("agitated", "calm", "disappointed")
CAUSES = ("产品质量", "交付延迟", "服务态度", "安装问题", "使用不当", "配件缺失")


@dataclass(frozen=True)
class Team:
    key: str
    name: str
    strategy: str
    supervisor: str | None
    agents: int
    types: tuple[TicketType, ...]


TEAMS = (
    Team("default", "客服中心 Service desk", "manual", "u-sup-default", 20,
         (TicketType.CONSULTATION, TicketType.COMPLAINT, TicketType.SUGGESTION,
          TicketType.TECH_SUPPORT)),
    Team("field", "现场服务 Field service", "round_robin", "u-sup-field", 12,
         (TicketType.REPAIR, TicketType.VISIT, TicketType.TECH_SUPPORT)),
    Team("vip", "大客户服务 Key accounts", "least_busy", "u-sup-vip", 8, tuple(TicketType)),
    Team("online", "在线客服 Online", "round_robin", None, 10,
         (TicketType.CONSULTATION, TicketType.SUGGESTION, TicketType.TECH_SUPPORT)),
)  # fmt: skip
TEAM_WEIGHTS = {"default": 55, "field": 20, "vip": 10, "online": 15}

PRODUCTS = (
    ("数控机床", "CK6150"), ("空压机", "SA-37"), ("激光切割机", "LC-3015"), ("注塑机", "HTF200"),
    ("冷水机组", "LSB-60"), ("变频器", "VFD-G7"), ("包装机", "DXD-420"), ("工业机器人", "IRB-1200"),
)  # fmt: skip
SYMPTOMS = (
    "昨天下午开始无法开机, 指示灯不亮, 影响生产线运行",
    "运行时异响明显, 振动比平时大, 客户担心设备损坏",
    "屏幕报警代码 E-{code}, 重启后仍然出现, 需要远程协助排查",
    "安装后一直达不到额定产能, 客户要求工程师上门调试",
    "配件到货缺少说明书和合格证, 客户无法完成验收",
    "询问下季度保养计划和备件价格, 希望尽快报价",
    "对上次维修的响应速度很不满意, 等了三天才有人联系",
    "建议在操作界面增加中文帮助和故障自检功能",
    "软件升级到 V{code} 以后通讯中断, 与 MES 系统对接失败",
    "设备温度过高自动停机, 车间环境温度约 35 度",
)


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _dsn_url(database: str) -> str:
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}".replace("postgresql://", "postgresql+asyncpg://", 1)


def description(rng: random.Random) -> str:
    product, model = rng.choice(PRODUCTS)
    symptom = rng.choice(SYMPTOMS).format(code=rng.randrange(100, 999))
    extra = rng.choice(("", " 客户联系人电话已核实。", " 设备仍在保修期内。", " 已拍照上传。"))
    return f"{product} {model}: {symptom}。{extra}".strip()


def ticket_kind(rng: random.Random) -> tuple[TicketType, Priority, bool]:
    """Type, priority and urgency as the service would set them (a complaint is high and
    urgent)."""
    ticket_type = rng.choices(TYPES, weights=TYPE_WEIGHTS)[0]
    if ticket_type is TicketType.COMPLAINT:
        return ticket_type, Priority.HIGH, True
    return ticket_type, rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0], False


def team_for(rng: random.Random, ticket_type: TicketType) -> Team:
    if ticket_type in (TicketType.REPAIR, TicketType.VISIT) and rng.random() < 0.8:
        return TEAMS[1]
    keys = [t for t in TEAMS if ticket_type in t.types]
    return rng.choices(keys, weights=[TEAM_WEIGHTS[t.key] for t in keys])[0]


# --------------------------------------------------------------------------- the data


@dataclass
class Plan:
    """One ticket's life up to "now", before it is numbered."""

    id: uuid.UUID
    customer: tuple[Any, ...]
    ticket_type: TicketType
    priority: Priority
    urgent: bool
    team: Team
    created_at: datetime
    assignee: str | None = None
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    waiting_since: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    opened_by: str = ""


class Dataset:
    """Customers, teams, agents, open and historic tickets with their clocks, from one seed."""

    def __init__(self, open_tickets: int, history: int, outage: timedelta, seed: int = SEED):
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.last_scan = self.now - outage
        self.zone = ZoneInfo(DeskSettings(database_url="sqlite+aiosqlite://").timezone)
        self.calendar = BusinessCalendar()  # the migrated ``default`` calendar: 24x7
        self.warn_ratio = DeskSettings(database_url="sqlite+aiosqlite://").sla_warning_ratio
        self.open_tickets = open_tickets
        self.history = history
        rng = self.rng
        owners = [f"u-sales-{n:03d}" for n in range(1, 201)]
        self.customers = [
            (
                uuid.UUID(int=rng.getrandbits(128)),
                f"KH2026{n:05d}",
                f"基准客户{n}有限公司",
                rng.choice(owners),
                rng.choice(("A", "B", "B", "C", "C", None)),
                rng.choice(("signed", "signed", "intent", "lead")),
                rng.random() < 0.01,
            )
            for n in range(1, CUSTOMERS + 1)
        ]
        self.live_customers = [c for c in self.customers if not c[6]]
        self.agents: dict[str, list[tuple[str, tuple[TicketType, ...]]]] = {}
        number = itertools.count(1)
        for team in TEAMS:
            self.agents[team.key] = []
            for _ in range(team.agents):
                n = next(number)
                types = team.types
                if len(types) > 2 and rng.random() < 0.3:  # some handle only part of them
                    types = tuple(rng.sample(types, len(types) - 1))
                self.agents[team.key].append((f"u-agent-{n:03d}", types))
        self.targets = {
            (p, t): targets_for(DEFAULT_TARGETS, p, t) for p in Priority for t in TicketType
        }
        self.serials: dict[int, int] = {}
        self.counts: Counter[str] = Counter()

    # ---- the plans

    def _arrival(self, start: datetime, span: timedelta) -> datetime:
        """A moment in [start, start + span), busier from 08:00 to 20:00 Shanghai time."""
        while True:
            moment = start + timedelta(seconds=self.rng.random() * span.total_seconds())
            hour = moment.astimezone(self.zone).hour
            if self.rng.random() < (1.0 if 8 <= hour < 20 else 0.3):
                return moment.replace(microsecond=0)

    def _delay(self, median: timedelta, spread: float = 0.9) -> timedelta:
        return timedelta(seconds=median.total_seconds() * math.exp(self.rng.gauss(0, spread)))

    def _assignee(self, team: Team, ticket_type: TicketType, priority: Priority) -> str:
        if priority is Priority.HIGH and team.supervisor:
            return team.supervisor
        handling = [a for a, types in self.agents[team.key] if ticket_type in types]
        return self.rng.choice(handling or [a for a, _ in self.agents[team.key]])

    def _plan(self, created: datetime) -> Plan:
        rng = self.rng
        ticket_type, priority, urgent = ticket_kind(rng)
        team = team_for(rng, ticket_type)
        agents = self.agents[team.key]
        return Plan(
            id=uuid.UUID(int=rng.getrandbits(128)),
            customer=rng.choice(self.live_customers),
            ticket_type=ticket_type,
            priority=priority,
            urgent=urgent,
            team=team,
            created_at=created,
            opened_by=rng.choice(agents)[0] if rng.random() < 0.8 else "u-sales-001",
        )

    def _work(self, plan: Plan, until: datetime, *, finish: bool) -> None:
        """Assignment, first response, wait and (``finish``) resolution up to ``until``."""
        rng = self.rng
        targets = self.targets[(plan.priority, plan.ticket_type)]
        age = until - plan.created_at
        auto = plan.team.strategy != "manual"
        to_supervisor = plan.priority is Priority.HIGH and plan.team.supervisor
        if to_supervisor or (auto and rng.random() < 0.9):
            assigned = plan.created_at
        else:
            assigned = plan.created_at + self._delay(targets[ClockKind.ASSIGN] * 0.6)
        pending_odds = 0.1 + 0.9 * math.exp(-age / timedelta(hours=3))
        if not finish and (
            assigned >= until or (not to_supervisor and rng.random() < pending_odds)
        ):
            return
        plan.assignee = self._assignee(plan.team, plan.ticket_type, plan.priority)
        plan.assigned_at = min(assigned, until - timedelta(seconds=1))
        responded = plan.assigned_at + self._delay(targets[ClockKind.FIRST_RESPONSE] * 0.5)
        if finish or (responded < until and rng.random() < 0.85):
            plan.first_response_at = min(responded, until - timedelta(seconds=1))
        if finish:
            resolved = plan.first_response_at + self._delay(targets[ClockKind.RESOLVE] * 0.4)
            plan.resolved_at = min(resolved, until - timedelta(seconds=1))
            return
        if plan.first_response_at is not None and rng.random() < 0.08:
            gap = (until - plan.first_response_at).total_seconds()
            plan.waiting_since = plan.first_response_at + timedelta(seconds=rng.random() * gap)
            plan.waiting_since = plan.waiting_since.replace(microsecond=0)

    def plans(self) -> list[Plan]:
        """Every ticket, oldest first: the year's history, then the open ones."""
        history_start = self.now - OPEN_SPAN - HISTORY_SPAN
        plans = []
        for _ in range(self.history):
            plan = self._plan(self._arrival(history_start, HISTORY_SPAN + OPEN_SPAN))
            self._work(plan, self.now, finish=True)
            assert plan.resolved_at is not None
            recent = self.now - plan.resolved_at < timedelta(days=5)
            if not (recent and self.rng.random() < 0.6):
                closing = plan.resolved_at + self._delay(timedelta(hours=20))
                plan.closed_at = min(closing, self.now - timedelta(seconds=1))
            plans.append(plan)
        for _ in range(self.open_tickets):
            plan = self._plan(self._arrival(self.now - OPEN_SPAN, OPEN_SPAN))
            self._work(plan, self.now, finish=False)
            plans.append(plan)
        plans.sort(key=lambda p: p.created_at)
        return plans

    # ---- clocks as the service keeps them

    def _marks(
        self, state: ClockState, end: datetime | None
    ) -> tuple[datetime | None, datetime | None]:
        """``warning_sent_at``/``breach_sent_at``: set by a checker polling every 15 s until
        ``last_scan`` while the clock ran (until ``end``: its stop or pause), or by the stop
        of a clock stopped late (``sla_clocks.stop``)."""
        horizon = min(end, self.last_scan) if end is not None else self.last_scan

        def seen(moment: datetime) -> datetime | None:
            """The first round at or after ``moment`` (rounds at ``last_scan`` - k x 15 s),
            if it came before ``horizon``."""
            polls_back = (self.last_scan - moment) // POLL
            at = self.last_scan - polls_back * POLL
            return at if at <= horizon else None

        breach = seen(state.due_at)
        warning = seen(state.warn_at)
        if breach is not None:
            warning = warning or breach
        elif state.outcome == "breached" and state.stopped_at is not None:
            breach = state.stopped_at  # stopped late before the checker saw it
            warning = warning or breach
        return warning, breach

    def clock_rows(self, plan: Plan) -> list[tuple[Any, ...]]:
        rows = []
        targets = self.targets[(plan.priority, plan.ticket_type)]
        stops = {
            ClockKind.ASSIGN: plan.assigned_at,
            ClockKind.FIRST_RESPONSE: plan.first_response_at,
            ClockKind.RESOLVE: plan.resolved_at,
        }
        for kind in ClockKind:
            target = targets.get(kind)
            if target is None:
                continue
            state = start_clock(kind, target, plan.created_at, self.calendar, self.warn_ratio)
            stopped = stops[kind]
            end: datetime | None = None
            if stopped is not None:
                state = stop_clock(state, stopped)
                end = stopped
            elif plan.waiting_since is not None:
                state = pause_clock(state, plan.waiting_since, self.calendar)
                end = plan.waiting_since
            warning, breach = self._marks(state, end)
            self.counts[f"clocks_{'stopped' if stopped else 'paused' if end else 'running'}"] += 1
            rows.append(
                (
                    uuid.UUID(int=self.rng.getrandbits(128)), plan.id, kind.value, 1,
                    int(target.total_seconds()), state.started_at, state.due_at, state.warn_at,
                    state.paused_at, state.warn_ratio, _seconds(state.remaining),
                    _seconds(state.warn_remaining), int(state.paused_for.total_seconds()),
                    int(state.warn_paused_for.total_seconds()), state.stopped_at,
                    state.outcome.value if state.outcome else None, warning, breach,
                )
            )  # fmt: skip
        return rows

    # ---- rows

    def ticket_row(self, plan: Plan) -> tuple[Any, ...]:
        rng = self.rng
        year = plan.created_at.astimezone(self.zone).year
        serial = self.serials[year] = self.serials.get(year, 0) + 1
        text_ = description(rng)
        status = (
            "closed"
            if plan.closed_at
            else "resolved"
            if plan.resolved_at
            else "in_progress"
            if plan.assignee
            else "pending_assignment"
        )
        self.counts[f"tickets_{status}"] += 1
        complaint = plan.ticket_type is TicketType.COMPLAINT
        answered = plan.closed_at is not None and rng.random() < 0.6
        updated = max(
            m
            for m in (
                plan.created_at, plan.assigned_at, plan.first_response_at, plan.waiting_since,
                plan.resolved_at, plan.closed_at,
            )
            if m is not None
        )  # fmt: skip
        changes = sum(
            m is not None
            for m in (
                plan.assigned_at, plan.first_response_at, plan.waiting_since, plan.resolved_at,
                plan.closed_at,
            )
        )  # fmt: skip
        return (
            plan.id, f"FW{year}{serial:03d}", year, serial, plan.customer[0], plan.customer[2],
            None, text_.split(":")[0] + " " + text_.split(":")[1][:20].strip(), text_,
            plan.ticket_type.value, plan.priority.value, status, plan.urgent,
            rng.choice(MOODS) if complaint else None,
            rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0],
            rng.choice(CAUSES) if complaint or plan.resolved_at else None,
            plan.team.key, plan.assignee, plan.assigned_at, plan.first_response_at,
            plan.waiting_since, "已处理完毕, 客户确认恢复正常" if plan.resolved_at else None,
            plan.resolved_at, plan.assignee if plan.resolved_at else None, plan.closed_at, 0,
            rng.choice((3, 4, 4, 5, 5, 5)) if answered else None, None,
            plan.closed_at + timedelta(hours=rng.randrange(1, 48)) if answered else None,
            plan.opened_by, plan.created_at, updated, 1 + changes,
        )  # fmt: skip

    def log_rows(self, plan: Plan, seq: Iterator[int]) -> list[tuple[Any, ...]]:
        rows = [
            (
                uuid.UUID(int=self.rng.getrandbits(128)), next(seq), plan.id, plan.created_at,
                plan.opened_by, "created", None,
                json.dumps({"priority": plan.priority.value, "urgent": plan.urgent}),
            )
        ]  # fmt: skip
        if plan.assigned_at is not None:
            rows.append(
                (
                    uuid.UUID(int=self.rng.getrandbits(128)), next(seq), plan.id,
                    plan.assigned_at, plan.opened_by, "assigned", None,
                    json.dumps({"assignee_id": plan.assignee, "automatic": True}),
                )
            )  # fmt: skip
        return rows

    def callback_row(self, plan: Plan) -> tuple[Any, ...] | None:
        if plan.resolved_at is None or plan.ticket_type not in CALLBACK_TYPES:
            return None
        due = plan.resolved_at + timedelta(days=3)
        reminded = due + POLL * self.rng.random() if due <= self.last_scan else None
        done = reminded + self._delay(timedelta(hours=6)) if reminded else None
        if done is not None and done >= self.now:
            done = None
        return (
            uuid.UUID(int=self.rng.getrandbits(128)), plan.id, plan.assignee, due, reminded,
            done, "客户表示设备运行正常" if done else None, None, plan.resolved_at,
        )  # fmt: skip


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


SECONDARY_INDEXES = """
SELECT i.tablename, i.indexname, i.indexdef
FROM pg_indexes AS i
WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
  AND NOT EXISTS (
    SELECT 1 FROM pg_constraint AS c
    WHERE c.conrelid = i.tablename::regclass AND c.conname = i.indexname
  )
ORDER BY i.tablename, i.indexname
"""


async def load(database_url: str, dataset: Dataset) -> dict[str, Any]:
    """COPY everything with the secondary indexes dropped; rebuild them from their migrated
    definitions; VACUUM ANALYZE; CHECKPOINT."""
    connection = await asyncpg.connect(_dsn(database_url))
    timings: dict[str, Any] = {}
    try:
        calendar_kind = await connection.fetchval(
            "SELECT kind FROM business_calendar WHERE key = 'default'"
        )
        assert calendar_kind == "always", f"the default calendar is {calendar_kind}, not 24x7"
        started = time.perf_counter()
        indexes = await connection.fetch(SECONDARY_INDEXES, list(TABLES))
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        now = dataset.now
        await connection.copy_records_to_table(
            "customer_replica",
            records=[(*c, 1, now, now) for c in dataset.customers],
            columns=REPLICA_COLUMNS,
        )
        await _teams(connection, dataset)
        plans = dataset.plans()
        timings["plan_seconds"] = round(time.perf_counter() - started, 1)
        tickets: list[tuple[Any, ...]] = []
        clocks: list[tuple[Any, ...]] = []
        logs: list[tuple[Any, ...]] = []
        callbacks: list[tuple[Any, ...]] = []
        counts: Counter[str] = Counter()
        seq = itertools.count(time.time_ns() - 10**15)

        async def flush() -> None:
            for table, rows, columns in (
                ("ticket", tickets, TICKET_COLUMNS),
                ("sla_clock", clocks, CLOCK_COLUMNS),
                ("ticket_log", logs, LOG_COLUMNS),
                ("ticket_callback", callbacks, CALLBACK_COLUMNS),
            ):
                if rows:
                    await connection.copy_records_to_table(table, records=rows, columns=columns)
                    counts[table] += len(rows)
                    rows.clear()

        for plan in plans:
            tickets.append(dataset.ticket_row(plan))
            clocks.extend(dataset.clock_rows(plan))
            logs.extend(dataset.log_rows(plan, seq))
            callback = dataset.callback_row(plan)
            if callback is not None:
                callbacks.append(callback)
            if len(tickets) >= COPY_BATCH:
                await flush()
                rate = counts["ticket"] / (time.perf_counter() - started)
                print(f"\r  loaded {counts['ticket']:>8,} tickets ({rate:,.0f}/s)", end="")
        await flush()
        print()
        await connection.copy_records_to_table(
            "ticket_serial",
            records=sorted(dataset.serials.items()),
            columns=["year", "last_serial"],
        )
        timings["copy_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await connection.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await connection.execute(index["indexdef"])
        timings["index_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await connection.execute(
            "VACUUM (ANALYZE) customer_replica, service_team, service_agent, ticket_serial, "
            + ", ".join(TABLES[1:])
        )
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await connection.execute("CHECKPOINT")
        timings["checkpoint_seconds"] = round(time.perf_counter() - started, 1)
        timings["rows"] = dict(counts)
        timings.update(sorted(dataset.counts.items()))
        timings["serials"] = dict(dataset.serials)
        timings["rebuilt_indexes"] = [i["indexname"] for i in indexes]
        timings["to_claim"] = dict(
            await connection.fetchrow(PENDING_ALERTS, dataset.now)  # type: ignore[arg-type]
        )
    finally:
        await connection.close()
    return timings


# Running clocks past a moment whose event is not marked: what a scan at $1 has to claim.
PENDING_ALERTS = """
SELECT count(*) FILTER (WHERE breach_sent_at IS NULL AND due_at <= $1) AS breaches,
       count(*) FILTER (WHERE warning_sent_at IS NULL AND warn_at <= $1 AND due_at > $1)
         AS warnings,
       (SELECT count(*) FROM ticket_callback
        WHERE reminded_at IS NULL AND cancelled_at IS NULL AND due_at <= $1) AS callbacks,
       count(*) AS running_clocks
FROM sla_clock WHERE stopped_at IS NULL AND paused_at IS NULL
"""


async def _teams(connection: asyncpg.Connection, dataset: Dataset) -> None:
    now = dataset.now
    for team in TEAMS:
        await connection.execute(
            "INSERT INTO service_team (key, name, calendar_key, supervisor_id, strategy,"
            " updated_at, updated_by, version) VALUES ($1, $2, 'default', $3, $4, $5, 'bench', 1)"
            " ON CONFLICT (key) DO UPDATE SET name = $2, supervisor_id = $3, strategy = $4,"
            " updated_at = $5, version = service_team.version + 1",
            team.key,
            team.name,
            team.supervisor,
            team.strategy,
            now,
        )
    await connection.copy_records_to_table(
        "service_agent",
        records=[
            (user, key, f"坐席{user[-3:]}", json.dumps([t.value for t in types]), True, None, now)
            for key, agents in dataset.agents.items()
            for user, types in agents
        ],
        columns=[
            "user_id", "team_key", "display_name", "ticket_types", "active", "last_assigned_at",
            "updated_at",
        ],
    )  # fmt: skip


# --------------------------------------------------------------------------- the SLA scan


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


async def sla_scan_s(database_url: str, dataset: Dataset) -> dict[str, Any]:
    """One ``check_once`` at "now" on an engine made as the service makes it; the outbox and
    the marks checked; a second round right after; ``count_open``."""
    settings = DeskSettings(database_url=database_url)
    engine = create_engine(
        database_url,
        pool_size=settings.database_pool_size,
        session_settings=settings.database_session_settings(),
    )
    clock = FixedClock(dataset.now)
    checker = SlaChecker(create_sessionmaker(engine), settings, clock)
    try:
        async with engine.connect() as connection:  # the pool warm, as in a running service
            await connection.exec_driver_sql("SELECT 1")
        meter = CpuMeter({"checker": os.getpid()}, pg_match=engine.url.database or "")
        meter.start()
        started = time.perf_counter()
        report = await checker.check_once()
        first = time.perf_counter() - started
        cpu = await meter.stop(max(report.warnings + report.breaches + report.callbacks, 1))
        started = time.perf_counter()
        again = await checker.check_once()
        second = time.perf_counter() - started
        started = time.perf_counter()
        await checker.count_open()
        count_open = time.perf_counter() - started
        checks = await _check_scan(engine, dataset.now)
    finally:
        await engine.dispose()
    exact = (
        checks["staged"].get("ticket.sla_warning", 0) == report.warnings
        and checks["staged"].get("ticket.sla_breached", 0) == report.breaches
        and checks["staged"].get("ticket.callback_due", 0) == report.callbacks
        and checks["distinct_alert_clocks"] == report.warnings + report.breaches
        and checks["marked_now"] == {"warnings": report.warnings, "breaches": report.breaches}
        and checks["left_unmarked"] == 0
    )
    result = {
        "seconds": round(first, 3),
        "warnings": report.warnings,
        "breaches": report.breaches,
        "callbacks": report.callbacks,
        "batch_size": settings.sla_batch_size,
        "second_scan_seconds": round(second, 3),
        "second_scan_claimed": again.warnings + again.breaches + again.callbacks,
        "count_open_seconds": round(count_open, 3),
        "checks": checks,
        "one_event_per_claim": exact,
        "clock": dataset.now.isoformat(),
        "cpu": cpu,
        "target_seconds": TARGET_SLA_SCAN_S,
        "pass": first <= TARGET_SLA_SCAN_S and exact and again == type(again)(0, 0, 0),
    }
    print(f"  SLA scan: {result}")
    return result


async def _check_scan(engine: Any, now: datetime) -> dict[str, Any]:
    async with engine.connect() as connection:
        staged = dict(
            (
                await connection.exec_driver_sql(
                    "SELECT routing_key, count(*) FROM outbox_message GROUP BY routing_key"
                )
            ).all()
        )
        distinct = (
            await connection.exec_driver_sql(
                "SELECT count(DISTINCT (body::json -> 'data' ->> 'ticket_id',"
                " body::json -> 'data' ->> 'kind', body::json -> 'data' ->> 'round'))"
                " FROM outbox_message"
                " WHERE routing_key IN ('ticket.sla_warning', 'ticket.sla_breached')"
            )
        ).scalar_one()
        marked = (
            (
                await connection.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE breach_sent_at = :now) AS breaches,"
                        " count(*) FILTER (WHERE warning_sent_at = :now AND"
                        " (breach_sent_at IS DISTINCT FROM :now)) AS warnings FROM sla_clock"
                    ),
                    {"now": now},
                )
            )
            .mappings()
            .one()
        )
        left = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM sla_clock WHERE stopped_at IS NULL AND paused_at IS NULL"
                    " AND ((breach_sent_at IS NULL AND due_at <= :now)"
                    " OR (warning_sent_at IS NULL AND warn_at <= :now))"
                ),
                {"now": now},
            )
        ).scalar_one()
    return {
        "staged": {str(k): int(v) for k, v in staged.items()},
        "distinct_alert_clocks": int(distinct),
        "marked_now": {"warnings": int(marked["warnings"]), "breaches": int(marked["breaches"])},
        "left_unmarked": int(left),
    }


# --------------------------------------------------------------------------- ticket creation


def _headers(subject: str, role: str) -> dict[str, str]:
    token = mint_internal_token(
        DEV_INTERNAL_TOKEN_SECRET, subject=subject, roles=[role], ttl_seconds=3600
    )
    return {"authorization": f"Bearer {token}"}


def create_bodies(dataset: Dataset) -> Callable[[int], tuple[dict[str, str], dict[str, Any]]]:
    """A service agent opening a ticket for a random customer: Chinese description, the
    type/priority and team mix of the data set, a complaint's mood, a channel."""
    rng = random.Random(SEED + 5)
    agents = [user for team in dataset.agents.values() for user, _ in team]
    headers = {user: _headers(user, "service_agent") for user in agents}

    def body(_n: int) -> tuple[dict[str, str], dict[str, Any]]:
        ticket_type, priority, _urgent = ticket_kind(rng)
        payload: dict[str, Any] = {
            "customer_id": str(rng.choice(dataset.live_customers)[0]),
            "description": description(rng),
            "ticket_type": ticket_type.value,
            "priority": priority.value,
            "channel": rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0],
            "team_key": team_for(rng, ticket_type).key,
        }
        if ticket_type is TicketType.COMPLAINT:
            payload["mood"] = rng.choice(MOODS)
            payload["cause"] = rng.choice(CAUSES)
        return headers[rng.choice(agents)], payload

    return body


async def post_load(
    base_url: str,
    path: str,
    body: Callable[[int], tuple[dict[str, str], dict[str, Any]]],
    *,
    connections: int = CONNECTIONS,
    seconds: float = 15.0,
) -> dict[str, Any]:
    """``connections`` clients posting back to back for ``seconds``: rps and latency."""
    durations: list[float] = []
    failures: Counter[int] = Counter()
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            headers, payload = body(next(counter))
            started = time.perf_counter()
            response = await client.post(path, json=payload, headers=headers)
            durations.append(time.perf_counter() - started)
            if response.status_code >= 300:
                failures[response.status_code] += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latency = percentiles_ms(durations)
    return {
        "rps": round(len(durations) / elapsed, 1),
        "requests": len(durations),
        "failures": sum(failures.values()),
        "failure_statuses": dict(failures),
        "connections": connections,
        "seconds": round(elapsed, 2),
        "p50_ms": latency.get("p50"),
        "p95_ms": latency.get("p95"),
        "p99_ms": latency.get("p99"),
        "max_ms": latency.get("max"),
    }


async def ticket_create_rps(
    process: ServiceProcess, dataset: Dataset, seconds: float, profile: Path | None
) -> dict[str, Any]:
    body = create_bodies(dataset)
    warm = await post_load(process.url, "/v1/tickets", body, seconds=WARMUP_SECONDS)
    print(f"  warm-up: {warm['requests']} creates, {warm['failures']} failures")
    pids = {"service": process.process.pid} if process.process else {}
    meter = CpuMeter(pids | {"bench": os.getpid()}, pg_match="bench_service_desk_")
    meter.start()
    profiler = start_profiler(process, profile) if profile else None
    result = await post_load(process.url, "/v1/tickets", body, seconds=seconds)
    if profiler and profile:
        stop_profiler(profiler, profile)
    result["cpu"] = await meter.stop(max(result["requests"], 1))
    result["profiled"] = profile is not None
    if profile:
        result["profile"] = {"file": str(profile), **top_frames(profile)}
    print(f"  ticket creates: {result}")
    return result


# --------------------------------------------------------------------------- knowledge base


async def kb_search(args: argparse.Namespace, tag: str) -> dict[str, Any]:
    """``measure_kb_search`` of ``bench/kb_search.py`` on a database of its own, when that
    module is here; else a null figure with a note."""
    try:
        from kb_search import measure_kb_search  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name != "kb_search":
            raise
        note = "bench/kb_search.py is not on this branch: knowledge-base search not measured"
        print(f"  {note}")
        return {"kb_search_p95_ms": None, "note": note}
    database = f"bench_service_desk_kb_{tag}"
    url = await create_database(database)
    try:
        found: dict[str, Any] = await measure_kb_search(
            url, articles=args.kb_articles, queries=args.kb_queries
        )
    finally:
        if not args.keep_database:
            await drop_database(database)
    print(f"  knowledge-base search: {found}")
    return found


# --------------------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = run_id()
    database = f"bench_service_desk_{tag}"
    vhost = f"bench-service-desk-{tag}"
    dataset = Dataset(args.tickets, args.history, timedelta(minutes=args.outage_minutes))
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "open_tickets": args.tickets,
        "history_tickets": args.history,
        "outage_minutes": args.outage_minutes,
        "load_average_before": os.getloadavg(),
    }
    created_database = created_vhost = False
    process: ServiceProcess | None = None
    url = _dsn_url(database)
    try:
        url = await create_database(database)
        created_database = True
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url, "heads")
        print(f"loading {args.tickets:,} open and {args.history:,} closed tickets into {database}")
        started = time.perf_counter()
        result["load"] = await load(url, dataset)
        result["load"]["total_seconds"] = round(time.perf_counter() - started, 1)
        print(f"  load: {result['load']}")

        scan = result["sla_scan"] = await sla_scan_s(url, dataset)
        result["sla_scan_s"] = scan["seconds"]

        amqp_url = await asyncio.to_thread(create_vhost, vhost)
        created_vhost = True
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        process = ServiceProcess(
            "service-desk",
            env={
                "CRM_SERVICE_DESK_DATABASE_URL": url,
                "CRM_AMQP_URL": amqp_url,
                "CRM_LOG_LEVEL": "WARNING",
                # measured in-process above with a fixed clock; off here so its rounds do not
                # run beside the creates
                "CRM_SLA_CHECKER_ENABLED": "false",
            },
            log_dir=LOG_DIR,
        )
        await process.start()
        profile = None
        if args.profile:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            profile = LOG_DIR / f"service_desk-create-{stamp}.txt"
        creates = result["ticket_create"] = await ticket_create_rps(
            process, dataset, args.seconds, profile
        )
        result["ticket_create_rps"] = creates["rps"]
        result["ticket_create_p50_ms"] = creates["p50_ms"]
        result["ticket_create_p99_ms"] = creates["p99_ms"]
        process.stop()
        process = None
        if args.skip_kb:
            result["kb_search"] = {"kb_search_p95_ms": None, "note": "skipped (--skip-kb)"}
        else:
            result["kb_search"] = await kb_search(args, tag)
        result["kb_search_p95_ms"] = result["kb_search"].get("kb_search_p95_ms")
    finally:
        if process is not None:
            process.stop()
        if created_vhost:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(delete_vhost, vhost)
        if created_database and not args.keep_database:
            await drop_database(database)
        elif created_database:
            print(f"  kept database {database} (--keep-database): {url}")
    result.update(run_facts())
    return result


def summary(result: dict[str, Any]) -> str:
    scan = result["sla_scan"]
    creates = result["ticket_create"]
    kb = result["kb_search"]

    def mark(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines = [
        "",
        f"service desk at {result['open_tickets']:,} open tickets (+{result['history_tickets']:,}"
        f" closed; {result['machine']['cpu_count']} CPUs, {result['git_revision']}, load"
        f" {result['load_average_before'][0]:.2f} -> {result['load_average_after'][0]:.2f})",
        f"  SLA scan after a {result['outage_minutes']}-minute gap: {scan['seconds']} s"
        f" ({scan['warnings']:,} warnings, {scan['breaches']:,} breaches, {scan['callbacks']:,}"
        f" callbacks; one outbox row each: {scan['one_event_per_claim']});"
        f" target <= {TARGET_SLA_SCAN_S:g} s {mark(scan['pass'])}",
        f"  steady-state scan right after: {scan['second_scan_seconds']} s"
        f" ({scan['second_scan_claimed']} claimed); count_open {scan['count_open_seconds']} s",
        f"  ticket creates at {creates['connections']} connections: {creates['rps']}/s,"
        f" p50 {creates['p50_ms']} ms, p99 {creates['p99_ms']} ms"
        f" ({creates['failures']} failures{', profiled' if creates['profiled'] else ''})",
        f"    CPU per create, ms: {(creates['cpu'] or {}).get('ms_per_event')}",
    ]
    if kb.get("kb_search_p95_ms") is None:
        lines.append(f"  knowledge-base search: {kb.get('note')}")
    else:
        lines.append(
            f"  knowledge-base search at {kb.get('articles', 0):,} articles: p50"
            f" {kb.get('kb_search_p50_ms')} ms, p95 {kb['kb_search_p95_ms']} ms, p99"
            f" {kb.get('kb_search_p99_ms')} ms"
        )
    profile = creates.get("profile")
    if profile:
        lines.append(f"  profile of the creates ({profile['samples']} samples), self:")
        lines += [f"    {line}" for line in profile["self"][:10]]
        lines.append("  service code, inclusive:")
        lines += [f"    {line}" for line in profile["crm_inclusive"][:12]]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="open tickets")
    parser.add_argument("--history", type=int, default=200_000, help="resolved/closed tickets")
    parser.add_argument(
        "--outage-minutes",
        type=float,
        default=60.0,
        help="how long before 'now' the checker last ran (what the measured scan catches up)",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured creates, seconds")
    parser.add_argument("--kb-articles", type=int, default=100_000)
    parser.add_argument("--kb-queries", type=int, default=500)
    parser.add_argument("--skip-kb", action="store_true", help="leave knowledge-base search out")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the service during the measured creates (var/bench-logs/service_desk-*)",
    )
    parser.add_argument("--keep-database", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    result = asyncio.run(run(parse(argv)))
    path = write_results("service_desk", result)
    print(summary(result))
    print(f"  results: {path}")


if __name__ == "__main__":
    main()
