"""The short fault-injection run (``bench/chaos.py --short``): one of each fault under a light
load, and nothing may be lost, applied twice, parked or left in an outbox.

It stops and starts the RabbitMQ application (every vhost), so nothing else may use the broker
meanwhile: outside ``make test`` run it under ``flock /tmp/crm-broker.lock``. The run has its
own vhost and a private PostgreSQL server; the session's fixtures are not used.
"""

import asyncio
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crm_platform.testing_faults import start_broker_app

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_SECONDS = 360  # the run cancels itself (and cleans up) before pytest's timeout


def _chaos() -> ModuleType:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("bench.chaos")


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
async def test_nothing_is_lost_duplicated_or_parked_under_faults() -> None:
    chaos = _chaos()
    try:
        result = await asyncio.wait_for(chaos.run(chaos.short_plan()), RUN_TIMEOUT_SECONDS)
    finally:
        start_broker_app()  # whatever happened, the broker runs for the tests after this one
    report = chaos.summary(result)
    print(report)

    assert result["faults"] == list(chaos.FAULTS), report
    assert result["created"] > 0, report
    assert {s: n for s, n in result["lost"].items() if n} == {}, report
    assert {s: n for s, n in result["duplicated"].items() if n} == {}, report
    assert {s: n for s, n in result["parked"].items() if n} == {}, report
    assert result["outbox_backlog"] == 0, report
