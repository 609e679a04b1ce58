#!/usr/bin/env bash
# Why: tests and benches need PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres;
# find it, start it, or (--install) install it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install=0; [[ "${1:-}" == "--install" ]] && install=1
host=127.0.0.1 port=5432
started=""   # "<ver> <name>" of a cluster this script started/created (only those get pg_hba edits)

psql_ok() { PGCONNECT_TIMEOUT=5 psql -w -X -q -h "$host" -p "$port" -U postgres -d postgres -tAc "$1" 2>&1; }

start_cluster() {
    local ver name
    read -r ver name < <(pg_lsclusters -h | awk -v p="$port" '$3 == p {print $1, $2; exit}') || true
    if [[ -n "${ver:-}" ]]; then
        log "starting existing cluster $ver/$name: pg_ctlcluster $ver $name start"
        pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || die "could not start cluster $ver/$name"
    else
        ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)
        [[ -n "$ver" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
        name=main
        log "no cluster on port $port; creating one: pg_createcluster $ver $name --port $port --start"
        pg_createcluster "$ver" "$name" --port "$port" --start >&2 || die "pg_createcluster $ver $name failed"
    fi
    started="$ver $name"
    wait_port "$host" "$port" 60 || die "PostgreSQL $ver/$name did not open $host:$port within 60 s"
}

if ! port_open "$host" "$port"; then
    log "nothing listening on $host:$port"
    if ! command -v pg_ctlcluster >/dev/null; then
        if ((install)) && can_apt; then
            apt_install postgresql postgresql-contrib   # contrib: pg_trgm (a no-op meta package on newer Debian)
        else
            cat >&2 <<MSG
[ensure_postgres] ERROR: no PostgreSQL reachable at $host:$port. Get one with ONE of:
    sudo apt-get install postgresql postgresql-contrib   # then re-run this script (or: make test)
    docker run -d --name crm-pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15
MSG
            exit 1
        fi
    fi
    port_open "$host" "$port" || start_cluster
    [[ -n "$started" ]] || started=$(pg_lsclusters -h | awk -v p="$port" '$3 == p {print $1, $2; exit}')
fi

command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client); cannot verify access"
if ! out=$(psql_ok 'select 1') && [[ -n "$started" ]] && grep -qiE 'password|authentication' <<<"$out"; then
    read -r ver name <<<"$started"
    hba=$(pg_conftool -s "$ver" "$name" show hba_file 2>/dev/null || echo "/etc/postgresql/$ver/$name/pg_hba.conf")
    log "cluster $ver/$name was started by this script and refuses password-less login;"
    log "switching its 127.0.0.1/::1 'host' lines in $hba to trust (backup: $hba.crm-bak) and reloading"
    sed -i.crm-bak -E 's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+)[a-z0-9-]+#\1trust#' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload
    sleep 1
fi
out=$(psql_ok 'select 1') || die "cannot log in as postgres on $host:$port without a password:
$out
Tests need trust auth for 127.0.0.1, e.g. in pg_hba.conf: 'host all all 127.0.0.1/32 trust', then reload."
[[ "$(psql_ok "select count(*) from pg_available_extensions where name = 'pg_trgm'")" == 1 ]] \
    || log "warning: extension pg_trgm is not available (install postgresql-contrib)"
log "OK: PostgreSQL on $host:$port accepts user postgres without a password"
