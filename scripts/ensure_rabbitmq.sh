#!/usr/bin/env bash
# Why: tests, benches and `make run` need an AMQP broker; find it, start it, or (--install) install it.
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
ok() {
    log "OK: RabbitMQ answers on $host:$port"
    command -v rabbitmqctl >/dev/null || log "warning: rabbitmqctl not on PATH; the pytest fixtures need it"
    exit 0
}
start() {
    if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        log "a local RabbitMQ node is already running; waiting for it to finish booting"
    else
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
    docker run -d --name crm-rabbit -p 5672:5672 rabbitmq:3
    export CRM_AMQP_URL=amqp://user:pass@host:5672/  # point at an existing broker
MSG
exit 1
