# logwarden — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# `make lock` rewrites constraints.txt from the venv after a dependency change (run the suite first).
.PHONY: lock install system-packages up down status logs run test test-unit check lint types contracts clean

EXAMPLE_PLUGIN := examples/logwarden-security

# re-runs when either pyproject.toml changes (entry points are install-time metadata)
$(STAMP): pyproject.toml constraints.txt $(EXAMPLE_PLUGIN)/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps -c constraints.txt -e $(EXAMPLE_PLUGIN)
	@touch $(STAMP)

install: $(STAMP) system-packages

lock: $(STAMP)
	@{ sed -n '1,2p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v -e '^-e' -e '^py-spy=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

## Debian packages the tests use: promtool (package prometheus) and chromium (browser tests).
## Idempotent: installs only what is missing; sudo when not root.
SYSTEM_PACKAGES_CHECK := promtool:prometheus chromium:chromium
system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES_CHECK); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "install these Debian/Ubuntu packages yourself:$$missing" >&2; exit 1; fi; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  echo "apt-get install$$missing"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
	    || { $$sudo apt-get update && \
	         $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; }; \
	fi

## services (Kafka, Elasticsearch, MongoDB-wire, Redis, OIDC, SMTP) on loopback
up: install
	$(PY) -m app.devstack up

status: install
	$(PY) -m app.devstack status

down:
	@if [ -f .run/worker.pid ]; then kill -TERM -- -$$(cat .run/worker.pid) 2>/dev/null || true; rm -f .run/worker.pid; fi
	@if [ -x $(PY) ]; then $(PY) -m app.devstack down; fi

## the main job: services, a worker with its web server, generated traffic
run: up
	$(VENV)/bin/logwarden run $(RUN_ARGS)

## the whole suite, real services included
test: up
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest tests/unit tests/agents $(PYTEST_ARGS)

## lint, types, import contracts, then the whole suite
check: lint types contracts test

lint: install
	$(VENV)/bin/ruff check .

types: install
	$(VENV)/bin/mypy app agents tables web bench

contracts: install
	$(VENV)/bin/lint-imports

clean: down
	rm -rf .devstack .run $(VENV)
