#!/usr/bin/env bash
# Why: tests check the deploy/prometheus config and rules with promtool and run a real
# Prometheus against the test stack; find both, or (--install) install Debian's package.
# Only the binaries are wanted: the package's own service (port 9090) is stopped and disabled.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install=0; [[ "${1:-}" == "--install" ]] && install=1

ok() {
    log "OK: $(promtool --version 2>&1 | head -n 1)"
    exit 0
}

# quiet_service -> stop and disable the Debian package's prometheus service, if any.
quiet_service() {
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable prometheus >/dev/null 2>&1 || true
        systemctl stop prometheus >/dev/null 2>&1 || true
    fi
    if [[ -x /etc/init.d/prometheus ]]; then
        /etc/init.d/prometheus stop >/dev/null 2>&1 || true
        command -v update-rc.d >/dev/null 2>&1 && { update-rc.d prometheus disable >/dev/null 2>&1 || true; }
    fi
}

command -v promtool >/dev/null && command -v prometheus >/dev/null && ok
log "promtool/prometheus not on PATH"
if ((install)) && can_apt; then
    apt_install --no-install-recommends prometheus
    quiet_service
    command -v promtool >/dev/null && command -v prometheus >/dev/null && ok
fi
cat >&2 <<MSG
[ensure_prometheus] ERROR: promtool and prometheus are needed. Get them with ONE of:
    sudo apt-get install --no-install-recommends prometheus   # Debian/Ubuntu (then: sudo systemctl disable --now prometheus)
    download a release from https://prometheus.io/download/ and put promtool and prometheus on PATH
MSG
exit 1
