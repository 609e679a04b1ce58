#!/usr/bin/env bash
# Why: tests, benches and `make run` need an AMQP broker with its management API (the notifier
# provisions partners' queues and users through it); find it, start it, or (--install) install it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install=0; [[ "${1:-}" == "--install" ]] && install=1

url="${CRM_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
read -r scheme host port < <(python3 -c '
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(p.scheme, p.hostname or "127.0.0.1", p.port or (5671 if p.scheme == "amqps" else 5672))' "$url")

# broker_ok -> 0 if $host:$port answers the AMQP 0-9-1 handshake (a bare TCP connect is not
# enough: proxies/sandboxes may accept any connection). For amqps a TCP connect has to do.
broker_ok() {
    [[ "$scheme" == amqps ]] && { port_open "$host" "$port"; return; }
    python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    s.settimeout(3)
    s.sendall(b"AMQP\x00\x00\x09\x01")
    sys.exit(s.recv(1) != b"\x01")
except OSError:
    sys.exit(1)' "$host" "$port"
}
mgmt_url="${CRM_RABBITMQ_MANAGEMENT_URL:-http://127.0.0.1:15672}"
mgmt_user="${CRM_RABBITMQ_MANAGEMENT_USER:-guest}"
mgmt_password="${CRM_RABBITMQ_MANAGEMENT_PASSWORD:-guest}"

# management_status -> prints the HTTP status of GET $mgmt_url/api/overview (0: no answer).
management_status() {
    python3 -c '
import base64, sys, urllib.error, urllib.request
url, user, password = sys.argv[1:4]
request = urllib.request.Request(url.rstrip("/") + "/api/overview")
token = base64.b64encode(f"{user}:{password}".encode()).decode()
request.add_header("Authorization", "Basic " + token)
try:
    print(urllib.request.urlopen(request, timeout=3).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except OSError:
    print(0)' "$mgmt_url" "$mgmt_user" "$mgmt_password"
}

# The management plugin ships with the server; enabling it needs no network. On a running node
# it starts at once; `--offline` (before the node starts) only writes the enabled_plugins file.
enable_management() {
    command -v rabbitmq-plugins >/dev/null || return 0
    if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        rabbitmq-plugins -q is_enabled rabbitmq_management >/dev/null 2>&1 && return 0
        log "enabling the management plugin (rabbitmq-plugins enable rabbitmq_management)"
        rabbitmq-plugins -q enable rabbitmq_management >&2 ||
            die "rabbitmq-plugins enable rabbitmq_management failed"
    else
        rabbitmq-plugins -q --offline enable rabbitmq_management >&2 ||
            die "rabbitmq-plugins --offline enable rabbitmq_management failed"
    fi
}

ensure_management() {
    local status
    status=$(management_status)
    if [[ "$status" == 0 ]] && is_local "$host"; then
        enable_management
        log "waiting up to 60 s for the management API at $mgmt_url"
        for _ in {1..60}; do
            status=$(management_status)
            [[ "$status" != 0 ]] && break
            sleep 1
        done
    fi
    case "$status" in
        200) log "OK: the management API answers at $mgmt_url" ;;
        0) die "the management API does not answer at $mgmt_url: enable it on the broker (rabbitmq-plugins enable rabbitmq_management) or set CRM_RABBITMQ_MANAGEMENT_URL" ;;
        *) die "the management API at $mgmt_url answers $status to $mgmt_user: check CRM_RABBITMQ_MANAGEMENT_USER/PASSWORD (an administrator)" ;;
    esac
}

ok() {
    log "OK: RabbitMQ answers on $host:$port"
    command -v rabbitmqctl >/dev/null || log "warning: rabbitmqctl not on PATH; the pytest fixtures need it"
    ensure_management
    exit 0
}
start() {
    if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        log "a local RabbitMQ node is already running; waiting for it to finish booting"
    else
        enable_management
        log "starting it: rabbitmq-server -detached (waiting up to 60 s)"
        rabbitmq-server -detached || die "rabbitmq-server -detached failed (needs root; see /var/log/rabbitmq/)"
    fi
    for _ in {1..60}; do
        broker_ok && ok
        if rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && ! broker_ok; then
            die "the local RabbitMQ node is up but does not answer on $host:$port; check CRM_AMQP_URL"
        fi
        sleep 1
    done
    die "RabbitMQ did not answer on $host:$port within 60 s (see /var/log/rabbitmq/)"
}

broker_ok && ok
log "no AMQP broker answers on $host:$port (CRM_AMQP_URL=${CRM_AMQP_URL:-<unset, default>})"
if is_local "$host"; then
    command -v rabbitmq-server >/dev/null && start
    if ((install)) && can_apt; then
        apt_install rabbitmq-server
        broker_ok && ok   # the package's postinst may have started it already
        start
    fi
fi
cat >&2 <<MSG
[ensure_rabbitmq] ERROR: no RabbitMQ reachable at $host:$port. Get one with ONE of:
    sudo apt-get install rabbitmq-server             # Debian/Ubuntu, then: make test / sudo rabbitmq-server -detached
    docker run -d --name crm-rabbit -p 5672:5672 -p 15672:15672 rabbitmq:3-management
    export CRM_AMQP_URL=amqp://user:pass@host:5672/  # point at an existing broker
MSG
exit 1
