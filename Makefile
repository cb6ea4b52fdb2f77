# riskdesk — `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed  ## create .venv and install requirements.txt

run: $(VENV)/.installed  ## migrate SQLite, seed the demo book once, serve on http://127.0.0.1:8000
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py demo_logins
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed  ## the whole suite: Postgres and Redis when they answer (required with CI=true)
	@# The browser tests drive Debian's chromium: installed here when missing and apt-get can.
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed: the browser tests skip (and fail with CI=true)"
	@exports="$$($(PY) scripts/test_services.py)" && eval "$$exports" && \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed  ## ruff and makemigrations --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run --verbosity 0

fuzz: $(VENV)/.installed  ## schemathesis on every API operation, long (FUZZ_EXAMPLES=500 per operation; needs Postgres)
	@mkdir -p bench/out && exports="$$($(PY) scripts/test_services.py)" && eval "$$exports" && \
	  RISKDESK_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} RISKDESK_FUZZ_REPORT=$${FUZZ_REPORT:-bench/out/fuzz-report.json} \
	  $(PY) -m pytest tests/api/test_schemathesis.py -q -p no:warnings --show-capture=no $(PYTEST_ARGS)

bench: $(VENV)/.installed  ## close-of-day benchmark (LOANS=100000 by default; needs Postgres)
	$(PY) bench/close_day.py --loans $${LOANS:-100000}

bench-dashboards: $(VENV)/.installed  ## dashboard pages' server time (LOANS=100000 by default; needs Postgres)
	$(PY) bench/dashboards.py --loans $${LOANS:-100000}

bench-scoring: $(VENV)/.installed  ## scoring (close of day step 3) benchmark (LOANS=100000 by default; needs Postgres)
	$(PY) bench/scoring.py --loans $${LOANS:-100000}

.PHONY: help install run test lint fuzz bench bench-scoring bench-dashboards
