"""A real Prometheus (Debian's package) against the five running services: every target is
up, the alert rules of deploy/prometheus load and evaluate, and `http_requests_total` has
series from all five services. The Grafana dashboard parses, every metric its queries name is
one the services export (read from their live /metrics), and Prometheus accepts every query.
"""

import asyncio
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from crm_platform.testing import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "rules"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "crm.json"
SERVICES = {"gateway", "customers", "engagement", "service-desk", "notifier"}
GROUPS = ["availability", "http", "events", "business"]

# PromQL words that look like identifiers but name no metric.
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left"}
PROMQL_WORDS |= {"group_right", "offset", "bool", "inf", "nan", "atan2"}
# Made by Prometheus itself for every target, not by the services.
SCRAPE_METRICS = {"up"}
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not a function (no
    `(` after them), a keyword, a label (inside `{}` or a `by (...)` list), a string or a
    duration."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "{}", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "[]", text)  # ranges and subqueries
    grouping = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    text = re.sub(grouping, " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text):
        name = match.group(1)
        if name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", variable["definition"])
            assert found, variable["definition"]
            queries.append(found.group(1))
    return queries


def test_the_metric_name_extractor() -> None:
    expr = (
        'sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service",'
        ' route!~"/metrics|/healthz"}[$__rate_interval])) / on (job) group_left (instance)'
        " max(up offset 1h) > 0.5 and vector(0) or crm_outbox_backlog"
        " unless histogram_quantile(0.95, foo:bar[5m]) * 1e3"
        ' + label_replace(x, "a", "$1", "b", "c")'
    )
    assert metric_names(expr) == {
        "http_request_duration_seconds_bucket",
        "up",
        "crm_outbox_backlog",
        "foo:bar",
        "x",
    }


@pytest.fixture(scope="module")
async def exported(system) -> dict[str, set[str]]:
    """Per service, the metric names its live /metrics declares (a histogram as its
    `_bucket`, `_sum` and `_count` series, a counter with `_total`)."""
    names: dict[str, set[str]] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for name, process in system.processes.items():
            text = (await client.get(process.url + "/metrics")).text
            found: set[str] = set()
            for family in text_string_to_metric_families(text):
                found |= {sample.name for sample in family.samples}
                suffixes = SUFFIXES.get(family.type, [""])
                found |= {family.name + suffix for suffix in suffixes}
            names[name] = found
    return names


@pytest.fixture(scope="module")
async def prometheus(system, tmp_path_factory) -> AsyncIterator[str]:
    """Prometheus scraping the five processes every second with the repository's rules."""
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is not on PATH: run scripts/ensure_prometheus.sh --install")
    directory = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES / "*.yml")],
        "scrape_configs": [
            {
                "job_name": name,
                "static_configs": [{"targets": [process.url.removeprefix("http://")]}],
            }
            for name, process in system.processes.items()
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (directory / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:

            async def ready() -> bool:
                assert process.poll() is None, (directory / "prometheus.log").read_text()
                try:
                    return (await client.get("/-/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(ready, timeout=15, message="prometheus ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def _api(client: httpx.AsyncClient, path: str, **params: str) -> dict:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success", body
    return body["data"]


async def test_prometheus_scrapes_every_service_and_loads_the_rules(system, prometheus) -> None:
    async with httpx.AsyncClient(base_url=system.gateway, headers=system.admin, timeout=10) as gw:
        for path in ("customers", "opportunities", "tickets", "notifications"):
            await gw.get(f"/api/v1/{path}")
    async with httpx.AsyncClient(base_url=prometheus, timeout=5) as client:

        async def targets_up() -> dict[str, str]:
            data = await _api(client, "/api/v1/targets")
            health = {t["labels"]["job"]: t["health"] for t in data["activeTargets"]}
            return health if health == dict.fromkeys(SERVICES, "up") else {}

        await wait_until(targets_up, timeout=15, message="every target up")

        async def rules_evaluated() -> list[dict]:
            groups = (await _api(client, "/api/v1/rules"))["groups"]
            evaluated = all(r["health"] != "unknown" for g in groups for r in g["rules"])
            return groups if evaluated else []

        groups = await wait_until(rules_evaluated, timeout=15, message="rules evaluated")
        assert sorted(g["name"] for g in groups) == sorted(GROUPS)
        errors = {r["name"]: r.get("lastError") for g in groups for r in g["rules"]}
        assert {name for name, error in errors.items() if error} == set(), errors
        names = {r["name"] for g in groups for r in g["rules"]}
        assert {"CrmServiceDown", "CrmEventsParked", "CrmSlaBreachesSpiking"} <= names

        async def per_service() -> set[str]:
            query = "count by (service) (http_requests_total)"
            result = (await _api(client, "/api/v1/query", query=query))["result"]
            services = {r["metric"]["service"] for r in result}
            return services if services == SERVICES else set()

        assert await wait_until(per_service, timeout=10, message="five services") == SERVICES
        firing = (await _api(client, "/api/v1/alerts"))["alerts"]
        assert [a for a in firing if a["labels"]["alertname"] == "CrmServiceDown"] == []


async def test_every_dashboard_query_names_an_exported_metric(exported) -> None:
    every = set().union(*exported.values())
    named = {name for expr in dashboard_queries() for name in metric_names(expr)}
    assert len(named) >= 20, named  # the extractor found the queries' metrics
    missing = named - every - SCRAPE_METRICS
    assert missing == set(), f"not exported by any service: {sorted(missing)}"
    # The platform's metrics are on every service.
    for service, names in exported.items():
        assert {"http_requests_total", "crm_outbox_backlog"} <= names, service
    assert "crm_csat_satisfied_ratio" in exported["service-desk"]
    assert "crm_notifications_total" in exported["notifier"]


async def test_prometheus_accepts_every_dashboard_query(prometheus) -> None:
    async with httpx.AsyncClient(base_url=prometheus, timeout=5) as client:
        answers = await asyncio.gather(
            *(
                client.get(
                    "/api/v1/query",
                    params={
                        "query": expr.replace("$__rate_interval", "1m").replace("$service", ".*")
                    },
                )
                for expr in dashboard_queries()
            )
        )
    failed = [a.text for a in answers if a.status_code != 200 or a.json()["status"] != "success"]
    assert failed == []
