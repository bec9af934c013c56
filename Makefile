# taskql: `make run` serves the embedded default; `make test` runs the suite against MariaDB and Redis.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
SCENARIO ?= baseline

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# requirements.lock is what the image installs (the runtime); requirements-dev.lock adds the tools and the
# tests' libraries on top of it (it starts with `-r requirements.lock`).
$(INSTALLED): requirements.lock requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

.PHONY: install
install: $(INSTALLED) ## Install the locked dependencies (runtime and development) into .venv

.PHONY: graphiql
graphiql: $(INSTALLED) ## Fetch GraphiQL's pinned files from the npm registry into var/graphiql/ (once; make run and make test run it)
	$(PY) -m schema.http.graphiql_assets

.PHONY: run
run: $(INSTALLED) graphiql ## Serve the embedded default (SQLite + in-process Redis) with demo data on 127.0.0.1:8000
	TASKQL_EMAIL_TRANSPORT=$${TASKQL_EMAIL_TRANSPORT:-log} $(PY) -m schema serve

.PHONY: worker
worker: $(INSTALLED) ## Run the job worker (high, default, low) and the cron scheduler beside it (needs TASKQL_REDIS_URL)
	$(PY) -m jobs.worker

.PHONY: failed-jobs
failed-jobs: $(INSTALLED) ## Failed jobs: ARGS=list (default), ARGS="requeue --all" or ARGS="requeue ID..."
	$(PY) -m jobs.failed $(or $(ARGS),list)

.PHONY: migrate
migrate: $(INSTALLED) ## Apply database migrations to TASKQL_DATABASE_URL
	$(PY) -m schema migrate

.PHONY: documents
documents: $(INSTALLED) ## Register trusted documents: make documents FILE=manifest.json CLIENT=name (TASKQL_DATABASE_URL)
	$(PY) -m schema documents "$(FILE)" --client "$(CLIENT)"

.PHONY: operator
operator: $(INSTALLED) ## Make a user a platform operator (/ops): make operator EMAIL=x [ACTION=grant|revoke] (TASKQL_DATABASE_URL)
	$(PY) -m schema operator $(or $(ACTION),grant) "$(EMAIL)"

.PHONY: system-deps
system-deps: ## Debian packages the suite needs beyond MariaDB and Redis: chromium (the /ops page test), promtool (the alert rules), docker-compose, haproxy and kubectl (deploy/), apt-get only when missing
	@command -v chromium >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	}
	@command -v promtool >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; \
	  invoke-rc.d prometheus stop >/dev/null 2>&1 || true; \
	}
	@command -v docker-compose >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; \
	}
	@command -v haproxy >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy; \
	  invoke-rc.d haproxy stop >/dev/null 2>&1 || true; \
	}
	@# Debian ships kubectl (with its kustomize) as kubernetes-client; only `kubectl kustomize` is used.
	@command -v kubectl >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client; \
	}

.PHONY: test
test: $(INSTALLED) system-deps graphiql ## Run the whole suite against MariaDB and Redis on 127.0.0.1 (plus lint and types)
	$(VENV)/bin/mypy .
	$(PY) -m pytest

.PHONY: lint
lint: $(INSTALLED) ## ruff, mypy and the layer contract
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

.PHONY: docs
docs: $(INSTALLED) ## Regenerate the settings table in docs/operations.md from persistence/settings.py
	$(PY) -m persistence.settings_table

.PHONY: schema
schema: $(INSTALLED) ## Regenerate the committed schema.graphql from the live schema
	$(PY) -c "from schema.build import build_schema; open('schema/schema.graphql','w').write(build_schema().as_str() + '\n')"

.PHONY: bench
bench: $(INSTALLED) ## GraphQL (ENGINE=compiled|resolvers, task-list cache off) against raw SQL endpoints on MariaDB (see docs/performance.md)
	$(PY) -m perf.bench --engine $(or $(ENGINE),compiled)

.PHONY: bench-cpu
bench-cpu: $(INSTALLED) ## Server and MariaDB CPU per request of the load mix's reads, compiled engine against resolvers, or (TRACING=1) traced against untraced (see docs/performance.md)
	$(PY) -m perf.cpu_bench $(if $(TRACING),--tracing)

.PHONY: bench-writes
bench-writes: $(INSTALLED) ## Server CPU per taskUpdate, sequential at 100/s on its own database (see docs/performance.md)
	$(PY) -m perf.write_cpu $(ARGS)

.PHONY: bench-subscriptions
bench-subscriptions: $(INSTALLED) ## 1,000 WebSocket subscribers on 2 processes under 100 writes/s (see docs/performance.md)
	$(PY) -m perf.subscriptions

.PHONY: bench-jobs
bench-jobs: $(INSTALLED) ## Jobs end to end: 6,000 jobs, 2 workers, local sinks; jobs/min and latency (see docs/performance.md)
	$(PY) -m perf.jobs

.PHONY: load
load: $(INSTALLED) ## Seed's load scenario with its SLO report: make load SCENARIO=baseline|normal|peak|stress|spike|endurance [DURATION=3m] [USERS=250] [POPULATION=owners] [ENGINE=resolvers]
	$(PY) -m perf.load --scenario $(SCENARIO) $(if $(DURATION),--duration $(DURATION)) $(if $(USERS),--users $(USERS)) $(if $(POPULATION),--population $(POPULATION)) $(if $(ENGINE),--engine $(ENGINE))

.PHONY: bench-attack
bench-attack: $(INSTALLED) ## A normal load alone, then beside attackers (costly, over-limit, logins, free text) (see docs/performance.md)
	$(PY) -m perf.attack $(ARGS)

.PHONY: chaos
chaos: $(INSTALLED) ## Fault drill: private MariaDB and Redis, a production server under load, five faults; lost writes, duplicates, missed events (see docs/operations.md)
	$(PY) -m perf.chaos $(ARGS)

.PHONY: lock
lock: $(INSTALLED) ## Re-pin requirements.lock (runtime) and requirements-dev.lock (the rest) from pyproject.toml's ranges
	rm -rf var/lock-venv && $(PYTHON) -m venv var/lock-venv
	var/lock-venv/bin/pip install --quiet --disable-pip-version-check '.'
	var/lock-venv/bin/pip freeze --exclude-editable | grep -v '^taskql' > requirements.lock
	rm -rf var/lock-venv
	@# The development set is resolved around the runtime pins, so the image runs what the suite tested.
	$(VENV)/bin/pip install --quiet --upgrade -c requirements.lock '.[dev]'
	{ echo '-r requirements.lock'; $(VENV)/bin/pip freeze --exclude-editable | grep -v '^taskql' \
	  | grep -vxFf requirements.lock; } > requirements-dev.lock

.PHONY: clean
clean: ## Remove the embedded database and caches
	rm -rf var/ .mypy_cache .ruff_cache
