# Front door of the project: `make run` starts the platform locally, `make test` runs the suite.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
LOCAL := deploy/local
PYTEST_ARGS ?=
BENCH_SERVICES := assignment planning proximity metrics map integration planning_units
# Benchmarks that need `make run` (every one but planning's and integration's).
BENCH_ON_PLATFORM := $(filter-out planning integration,$(BENCH_SERVICES))
# Benchmarks that exist: bench/<service>.py or a bench/<service>/ package.
BENCH_AVAILABLE := $(foreach s,$(BENCH_SERVICES),$(if $(wildcard bench/$(s).py bench/$(s)/__main__.py),$(s)))
# mypy only the source folders that exist and hold Python files.
MYPY_PATHS := $(foreach d,shared services demo migrations tests bench deploy,$(if $(shell find $(d) -name '*.py' -print -quit 2>/dev/null),$(d)))

.PHONY: help run stop test soak lint format migrate logs clean bootstrap venv bench \
	$(addprefix bench-,$(BENCH_SERVICES))

help:  ## list the targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20
	@echo "bench-<service>     run bench.<service> against the running platform ($(BENCH_ON_PLATFORM))"

bootstrap:  ## install missing Debian packages and the virtualenv
	@$(LOCAL)/bootstrap.sh

venv:
	@$(LOCAL)/bootstrap.sh venv

run:  ## start PostGIS, the services and nginx on http://127.0.0.1:8080 (writes .run/env)
	@$(LOCAL)/run.sh

stop:  ## stop nginx, the services and the embedded PostGIS
	@$(LOCAL)/stop.sh

test: bootstrap  ## run the test suite (on the embedded PostGIS unless DATABASE_URL is set)
	@if [[ -z "$${DATABASE_URL:-}$${TERRITORY_DATABASE_URL:-}" ]]; then \
		$(LOCAL)/pg.sh start; \
		export DATABASE_URL="$$($(LOCAL)/pg.sh url)"; \
	fi; \
	$(VENV)/bin/pytest $(PYTEST_ARGS)

SOAK_SECONDS ?= 180
soak: bootstrap  ## mixed traffic at concurrency 16 for SOAK_SECONDS (180): no errors, flat memory; prints a table
	@if [[ -z "$${DATABASE_URL:-}$${TERRITORY_DATABASE_URL:-}" ]]; then \
		$(LOCAL)/pg.sh start; \
		export DATABASE_URL="$$($(LOCAL)/pg.sh url)"; \
	fi; \
	SOAK_SECONDS=$(SOAK_SECONDS) $(VENV)/bin/pytest tests/faults/test_soak.py -q -s $(PYTEST_ARGS)

lint: venv  ## ruff check, ruff format --check and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(MYPY_PATHS)

format: venv  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: bootstrap  ## alembic upgrade head
	@if [[ -z "$${DATABASE_URL:-}$${TERRITORY_DATABASE_URL:-}" ]]; then \
		$(LOCAL)/pg.sh start; \
		export DATABASE_URL="$$($(LOCAL)/pg.sh url)"; \
	fi; \
	$(VENV)/bin/alembic upgrade head

bench:  ## run every benchmark that exists (starts the platform first)
ifeq ($(strip $(BENCH_AVAILABLE)),)
	@echo "no benchmarks yet (bench/<service>.py)"
else
	@$(MAKE) --no-print-directory $(addprefix bench-,$(BENCH_AVAILABLE))
endif

$(addprefix bench-,$(BENCH_ON_PLATFORM)): bench-%: run  ## run bench.<service> against the running platform
	@source .run/env && $(VENV)/bin/python -m bench.$*

# The planning benchmark calls the design engine in-process: no platform, no database.
# BENCH_ARGS=--quick for the 2-minute run (python -m bench.planning --help for the rest).
BENCH_ARGS ?=
bench-planning: venv  ## design engine vs GerryChain, spopt and an exact MIP (BENCH_ARGS=--quick)
	$(VENV)/bin/python -m bench.planning $(BENCH_ARGS)

# The integration benchmark starts its own platform on its own database of DATABASE_URL's
# server (the embedded cluster unless set). BENCH_ARGS="--rows 100000" for a shorter run.
bench-integration: venv  ## outbox cost on the bulk path, feed visibility and throughput, webhook latency
	@if [[ -z "$${DATABASE_URL:-}$${TERRITORY_DATABASE_URL:-}" ]]; then \
		$(LOCAL)/pg.sh start; \
		export DATABASE_URL="$$($(LOCAL)/pg.sh url)"; \
	fi; \
	$(VENV)/bin/python -m bench.integration $(BENCH_ARGS)

logs:  ## follow the logs of every process
	@shopt -s nullglob; files=(.run/logs/*.log .run/nginx/logs/*.log); \
	if [[ $${#files[@]} -eq 0 ]]; then echo "no logs yet: make run"; exit 0; fi; \
	tail -n 50 -F "$${files[@]}"

clean: stop  ## stop everything and remove .run (the embedded database included)
	@$(LOCAL)/pg.sh destroy
	rm -rf .run
