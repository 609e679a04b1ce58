"""What every benchmark here reports the same way: latency percentiles, the code revision, the
JSON result files under ``bench/results/``."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"


def percentiles_ms(values_s: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/p99/max/mean in milliseconds of durations given in seconds."""
    if len(values_s) < 2:
        return {"count": len(values_s)}
    cuts = statistics.quantiles(values_s, n=100, method="inclusive")
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
        "max": round(max(values_s) * 1000, 2),
        "mean": round(statistics.fmean(values_s) * 1000, 2),
        "count": len(values_s),
    }


def git_revision() -> str:
    """The short HEAD, ``-dirty`` when tracked files changed; ``unknown`` outside git."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def write_results(benchmark: str, result: dict[str, Any]) -> Path:
    """``<benchmark>-<UTC stamp>.json`` and ``<benchmark>-latest.json``; returns the first."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{benchmark}-{stamp}.json"
    text = json.dumps(result, indent=2, default=str, ensure_ascii=False) + "\n"
    path.write_text(text)
    (RESULTS_DIR / f"{benchmark}-latest.json").write_text(text)
    return path


def start_profiler(process: Any, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling a service process (a ``ServiceProcess``) into ``output`` (collapsed
    stacks); its CPU figures then include the sampling's cost: profile in a run of its own."""
    spy = shutil.which("py-spy")
    if spy is None or process.process is None:
        raise SystemExit("profiling needs py-spy on PATH (pip install --user py-spy)")
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "--pid", str(process.process.pid), "--rate", "250"]
    command += ["--format", "raw", "--output", str(output), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profiler(profiler: subprocess.Popen[bytes], output: Path) -> None:
    profiler.send_signal(signal.SIGINT)
    _, errors = profiler.communicate(timeout=60)
    print(f"  profile: {output} ({errors.decode()[-200:].strip()})")


def top_frames(path: Path, count: int = 15) -> dict[str, Any]:
    """The hottest frames of a py-spy raw (collapsed) profile: self time, and time under
    each frame of the service's own code (``crm_``)."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        n = int(samples)
        total += n
        frames = stack.split(";")
        own[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames if "crm_" in f}:
            under[frame] += n

    def share(counter: Counter[str]) -> list[str]:
        return [f"{100 * n / total:5.1f}% {frame}" for frame, n in counter.most_common(count)]

    return {"samples": total, "self": share(own), "crm_inclusive": share(under)}


def _short(frame: str) -> str:
    """``function (path/to/module.py:line)`` -> ``function (module.py:line)``, without the
    line: one entry per function."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    module = where.rsplit("/", 1)[-1].split(":")[0]
    return f"{name} ({module})" if module else name


def run_facts() -> dict[str, Any]:
    """What every result records about its run: when it finished, the load then, the
    revision measured and the machine."""
    return {
        "finished_at": datetime.now(UTC).isoformat(),
        "load_average_after": os.getloadavg(),
        "git_revision": git_revision(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
