# Why: small helpers shared by the ensure_*.sh scripts (source it; not meant to be run).

log() { echo "[$(basename "$0" .sh)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# port_open HOST PORT -> 0 if something accepts TCP connections there.
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# wait_port HOST PORT SECONDS -> 0 as soon as the port opens, 1 after SECONDS.
wait_port() {
    local i
    for ((i = 0; i < $3; i++)); do
        port_open "$1" "$2" && return 0
        sleep 1
    done
    return 1
}

# is_local HOST -> 0 if HOST is this machine (so starting a local server can help).
is_local() { [[ "$1" == 127.* || "$1" == localhost || "$1" == ::1 ]]; }

# can_apt -> 0 if we may install system packages (root + apt-get).
can_apt() { [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
    log "installing with apt-get: $*"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}
