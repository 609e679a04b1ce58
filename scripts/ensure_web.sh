#!/usr/bin/env bash
# Why: the web console needs Node.js to build and test, and Debian's Chromium for its browser
# tests (a test tool's own browser download is not available here). Find them, or (--install)
# install them from Debian's packages; install web/node_modules from the committed lock file
# when it changed; then build web/dist (type check + vite build), which the gateway serves.
#   scripts/ensure_web.sh [--install] [--no-browser] [--no-build]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install=0; browser=1; build=1
for arg in "$@"; do
    case "$arg" in
        --install) install=1 ;;
        --no-browser) browser=0 ;;
        --no-build) build=0 ;;
        *) die "unknown option $arg" ;;
    esac
done
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/../web" && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ((install)) && can_apt || die "Node.js and npm are needed for the web console (apt-get install nodejs npm)"
    apt_install --no-install-recommends nodejs npm
fi
log "node $(node --version), npm $(npm --version)"

if ((browser)) && [[ ! -x /usr/bin/chromium ]]; then
    ((install)) && can_apt || die "Debian's chromium is needed for the console's browser tests (apt-get install chromium)"
    apt_install --no-install-recommends chromium
fi
((browser)) && log "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"
# Chinese text in the browser tests' pages and screenshots needs a CJK font (else boxes).
if ((browser)) && ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    ((install)) && can_apt || die "a Chinese font is needed for the console's screenshots (apt-get install fonts-noto-cjk)"
    apt_install --no-install-recommends fonts-noto-cjk
fi

# node_modules from the lock file, again only when the lock file changed since the last install.
stamp="$web/node_modules/.crm-lock-sha256"
want="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "npm ci (package-lock.json changed or node_modules absent)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$want" >"$stamp"
fi

# The build, unless web/dist is newer than every source of it.
stale() {
    [[ -f "$web/dist/index.html" ]] || return 0
    [[ -n "$(find "$web/src" "$web/index.html" "$web/package-lock.json" "$web/vite.config.ts" \
        "$web/tsconfig.json" -newer "$web/dist/index.html" -print -quit)" ]]
}
if ((build)) && stale; then
    log "building the console (vue-tsc + vite build) into web/dist"
    (cd "$web" && npm run --silent build >&2)
fi
log "OK: web/dist ready"
