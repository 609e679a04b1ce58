#!/bin/bash
# Runs once, when the PostgreSQL volume is first initialised (the postgres image's
# /docker-entrypoint-initdb.d): one database per service, all owned by the application role
# `crm` (not a superuser), and pg_trgm created by the superuser in the customers database
# (its migrations use it; pg_trgm is a trusted extension, so this only saves the role a step).
# To re-run it, remove the volume (docker compose down -v: that deletes the data).
set -euo pipefail
: "${CRM_DB_PASSWORD:?CRM_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v crm_password="$CRM_DB_PASSWORD" <<'SQL'
CREATE ROLE crm LOGIN PASSWORD :'crm_password';
CREATE DATABASE gateway OWNER crm;
CREATE DATABASE customers OWNER crm;
CREATE DATABASE engagement OWNER crm;
CREATE DATABASE service_desk OWNER crm;
CREATE DATABASE notifier OWNER crm;
SQL

for db in gateway customers engagement service_desk notifier; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$db" \
         -c "REVOKE ALL ON DATABASE $db FROM PUBLIC; GRANT ALL ON SCHEMA public TO crm;"
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname customers \
     -c "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
