"""deploy/prometheus: promtool (Debian's prometheus package, installed by
``scripts/ensure_prometheus.sh --install`` in ``make test``) accepts the config and the rules,
the rules' unit tests pass, and every alert has a summary, a description and a runbook entry
in docs/operations.md."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
OPERATIONS = ROOT / "docs" / "operations.md"
SERVICES = {
    "gateway": "gateway:8000",
    "customers": "customers:8001",
    "engagement": "engagement:8002",
    "service-desk": "service-desk:8003",
    "notifier": "notifier:8004",
}
GROUPS = ["availability", "http", "events", "business"]


def promtool(*args: str) -> str:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not on PATH: run scripts/ensure_prometheus.sh --install")
    done = subprocess.run(
        ["promtool", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def rule_files() -> list[Path]:
    files = sorted((PROMETHEUS / "rules").glob("*.yml"))
    assert files
    return files


def alerts() -> list[dict]:
    return [
        rule
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def test_promtool_accepts_the_config_and_finds_its_rule_files() -> None:
    output = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert "SUCCESS" in output
    assert "1 rule files found" in output, output


def test_promtool_accepts_the_rules() -> None:
    output = promtool("check", "rules", *map(str, rule_files()))
    assert f"SUCCESS: {len(alerts())} rules found" in output, output


def test_the_rules_unit_tests_pass() -> None:
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    output = promtool("test", "rules", *map(str, tests))
    assert "SUCCESS" in output and "FAILED" not in output, output


def test_the_config_scrapes_the_five_services_one_job_each() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules/*.yml"]
    jobs = {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    assert jobs == {name: [target] for name, target in SERVICES.items()}


def test_the_rule_groups_and_the_alerts_the_operations_page_promises() -> None:
    groups = [g["name"] for p in rule_files() for g in yaml.safe_load(p.read_text())["groups"]]
    assert groups == GROUPS
    names = {rule["alert"] for rule in alerts()}
    assert {
        "CrmServiceDown",
        "CrmHighErrorRatio",
        "CrmHighLatencyP95",
        "CrmOutboxBacklogGrowing",
        "CrmEventsParked",
        "CrmConsumerLagHigh",
        "CrmSlaBreachesSpiking",
        "CrmNotificationFailures",
    } <= names


def test_every_alert_has_a_summary_a_description_and_a_runbook_entry() -> None:
    text = OPERATIONS.read_text()
    section = text.split("## Alerts and runbooks", 1)[1].split("\n## ", 1)[0]
    anchors = {github_anchor(h) for h in re.findall(r"^### (.+)$", section, re.M)}
    for rule in alerts():
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), rule["alert"]
        assert annotations["description"].strip(), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/operations.md", rule["alert"]
        assert anchor == github_anchor(rule["alert"]), rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no '### {rule['alert']}' in the runbooks"
