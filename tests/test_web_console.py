"""The web console in a real browser: Playwright (web/e2e) driving Debian's Chromium against
the five services started as real processes, the console served by the gateway.

`make test` builds the console first (scripts/ensure_web.sh). CRM_CONSOLE_E2E_ARGS passes
more arguments to `playwright test` (say `--grep customers`) when working on one page.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
from pathlib import Path

import pytest

from crm_gateway.settings import DEV_ADMIN_PASSWORD, DEV_ADMIN_USERNAME

from .console_people import PASSWORD, create_console_people
from .system import WEB_DIR, System

CHROMIUM = Path(os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium"))
E2E_TIMEOUT_SECONDS = 900


def _missing() -> str | None:
    if not (WEB_DIR / "dist" / "index.html").is_file():
        return "the console is not built: run scripts/ensure_web.sh (make test does)"
    if not (WEB_DIR / "node_modules" / "@playwright" / "test").is_dir():
        return "web/node_modules is missing: run scripts/ensure_web.sh (make test does)"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: scripts/ensure_web.sh installs Debian's chromium"
    return None


@pytest.mark.timeout(E2E_TIMEOUT_SECONDS + 120)
async def test_the_console_flows_in_a_real_browser(system: System) -> None:
    missing = _missing()
    if missing:
        pytest.fail(missing)
    await create_console_people(system.gateway, system.admin)
    env = {
        **os.environ,
        "CRM_CONSOLE_URL": system.gateway,
        "CRM_CONSOLE_PASSWORD": PASSWORD,
        "CRM_CONSOLE_ADMIN": DEV_ADMIN_USERNAME,
        "CRM_CONSOLE_ADMIN_PASSWORD": DEV_ADMIN_PASSWORD,
        "CRM_CHROMIUM": str(CHROMIUM),
        "CI": "1",
    }
    npx = shutil.which("npx") or "npx"
    extra = shlex.split(os.environ.get("CRM_CONSOLE_E2E_ARGS", ""))
    process = await asyncio.create_subprocess_exec(
        npx, "playwright", "test", *extra,
        cwd=WEB_DIR, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), E2E_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        raise
    text = output.decode(errors="replace")
    print(text)
    assert process.returncode == 0, f"the browser tests failed:\n{text[-8000:]}"
