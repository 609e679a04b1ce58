#!/usr/bin/env bash
# Why: one idempotent step that guarantees `uv` exists and the workspace .venv matches uv.lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.local/bin:$PATH"

say() { echo "[bootstrap] $*" >&2; }
try() { say "running: $*"; "$@" --quiet 2>/dev/null; }

if ! command -v uv >/dev/null 2>&1; then
    say "uv not found on PATH; installing it with pip"
    try python3 -m pip install --user uv \
        || try pip install uv \
        || { say "running: python3 -m pip install --user --break-system-packages uv  (PEP 668 system Python)"
             python3 -m pip install --user --quiet --break-system-packages uv; } \
        || { say "ERROR: could not install uv; see https://docs.astral.sh/uv/getting-started/installation/"; exit 1; }
    hash -r
    command -v uv >/dev/null 2>&1 || { say "ERROR: uv installed but not found on PATH (incl. ~/.local/bin)"; exit 1; }
fi

uv sync --frozen --all-packages --quiet
say "$(uv --version) at $(command -v uv); .venv in sync with uv.lock"
