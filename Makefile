# Why: one front door for running, testing, linting and benchmarking the CRM workspace.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
export PATH := $(HOME)/.local/bin:$(PATH)

UV := uv run --frozen
SERVICES := gateway customers engagement service-desk notifier
PYTEST_ARGS ?=
CHAOS_ARGS ?=
SERVICE_DESK_ARGS ?=
NOTIFIER_ARGS ?=
MIGRATE_ALL = mkdir -p var; for s in $(SERVICES); do echo "==> crm-$$s migrate"; $(UV) crm-$$s migrate; done

.PHONY: help bootstrap run test lint migrate bench-events bench-customers bench-gateway bench-engagement bench-service-desk bench-notifier bench-console chaos clean

help: ## list targets
	@echo "usage: make <target>   (e.g. make test PYTEST_ARGS='-x -k customers')"
	@awk -F ':.*## ' '/^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## install uv if missing and sync .venv from uv.lock
	@scripts/bootstrap.sh

migrate: bootstrap ## apply every service's migrations and declare its broker topology (needs RabbitMQ)
	@scripts/ensure_rabbitmq.sh
	@$(MIGRATE_ALL)

run: bootstrap ## build the web console, migrate, then start all five services under honcho (needs RabbitMQ; Ctrl-C stops all)
	@scripts/ensure_rabbitmq.sh
	@scripts/ensure_web.sh --install --no-browser || echo "make run: the web console was not built (see above); the API runs without it"
	@$(MIGRATE_ALL)
	@echo "console       http://127.0.0.1:8000/  (the web console; API under /api, docs: /api/docs)"
	@echo "gateway       http://127.0.0.1:8000  (docs: /docs, metrics: /metrics)"
	@echo "sign in       POST http://127.0.0.1:8000/api/v1/auth/login  {\"username\": \"$${CRM_ADMIN_USERNAME:-admin}\", \"password\": \"$$([ -n "$${CRM_ADMIN_PASSWORD:-}" ] && echo "<your CRM_ADMIN_PASSWORD>" || echo crm-dev-admin-2026)\"}"
	@echo "              (the first admin, created on the first start while no user exists; development login)"
	@port=8001; for s in customers engagement service-desk notifier; do \
	  printf '%-13s http://127.0.0.1:%s  (/docs, /metrics)\n' $$s $$port; port=$$((port + 1)); done
	exec $(UV) honcho start -f Procfile

test: ## ensure/install RabbitMQ, PostgreSQL, promtool/prometheus, Node.js + Chromium; build the console, run Vitest, then pytest (browser tests included; PYTEST_ARGS=...)
	@trap 'echo "make test: total wall time $${SECONDS}s"' EXIT; \
	scripts/bootstrap.sh; \
	scripts/ensure_rabbitmq.sh --install; \
	scripts/ensure_postgres.sh --install; \
	scripts/ensure_prometheus.sh --install; \
	scripts/ensure_web.sh --install; \
	(cd web && npx vitest run --reporter=dot); \
	rc=0; $(UV) pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: FAILED: pytest collected no tests (exit 5)"; fi; \
	exit $$rc

lint: bootstrap ## ruff check + ruff format --check + import contracts (lint-imports)
	@rc=0; $(UV) ruff check . || rc=1; $(UV) ruff format --check . || rc=1; \
	$(UV) lint-imports --no-cache || rc=1; exit $$rc

bench-events: bootstrap ## benchmark the event path (needs RabbitMQ + PostgreSQL)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh
	$(UV) python bench/event_path.py

bench-customers: bootstrap ## benchmark customer search (needs RabbitMQ + PostgreSQL)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh
	$(UV) python bench/customers_search.py

bench-gateway: bootstrap ## benchmark forwarding through the gateway vs direct (needs RabbitMQ + PostgreSQL)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh
	$(UV) python bench/gateway.py

bench-engagement: bootstrap ## benchmark engagement: 09:00 reminder run at 1M follow-ups, analytics at 100k opportunities, creates (needs RabbitMQ + PostgreSQL)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh
	$(UV) python bench/engagement.py

bench-service-desk: bootstrap ## benchmark service desk: SLA scan at 100k open tickets, ticket creates at 32 connections, KB search (needs RabbitMQ + PostgreSQL)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh
	$(UV) python bench/service_desk.py $(SERVICE_DESK_ARGS)

bench-notifier: bootstrap ## benchmark the notifier: 10,000 reminder.due fanned out to inbox + a local webhook (NOTIFIER_ARGS=--profile)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh
	$(UV) python bench/notifier.py $(NOTIFIER_ARGS)

bench-console: bootstrap ## benchmark the web console's lists: a page of 50 with 10,000 customers, API and in Chromium (needs RabbitMQ + PostgreSQL)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh && scripts/ensure_web.sh --install
	$(UV) python bench/console.py

chaos: bootstrap ## fault-injection run under load (CHAOS_ARGS=--short; stops RabbitMQ: run under flock /tmp/crm-broker.lock)
	@scripts/ensure_rabbitmq.sh && scripts/ensure_postgres.sh
	$(UV) python bench/chaos.py $(CHAOS_ARGS)

clean: ## remove ./var (local SQLite databases)
	rm -rf var
