# The front door: `make demo` and `make test` on a fresh machine.
VENV ?= .venv
# Where `make demo` and `make serve` listen: `make demo PORT=8080` (or HOST=0.0.0.0 to be reached from elsewhere).
HOST ?= 127.0.0.1
PORT ?= 8000
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# One stamp per install, named after the hash of the files it installed: editing either requirements file reinstalls.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | sha256sum | cut -c1-12)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: install install-dev demo test test-sqlite lint soak bench serve

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The runtime: what the server, the workers and the demo need.
$(STAMP): requirements.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements.txt
	touch $(STAMP)

# The runtime and the tests' and tools' packages (requirements-dev.txt includes requirements.txt).
$(DEV_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements-dev.txt
	touch $(DEV_STAMP) $(STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

demo: install
	$(PY) manage.py demo --url http://$(HOST):$(PORT)/ && DEMO_MODE=1 DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install-dev
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports  # the import contracts in pyproject.toml: apps in layers, no cycles, no Django in training

test: install-dev lint
	$(PY) -m pytest

# The same suite on the embedded default (SQLite, eager Celery), whatever the environment says.
test-sqlite: install-dev
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) -m pytest

# Load, faults and long fuzzing (docs/security.md): PostgreSQL and Redis on 127.0.0.1, ~20 minutes; nginx in front of
# gunicorn for the slow-body attack and the benchmark through it (installed here when apt-get can).
soak: install-dev
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || (apt-get update -q && apt-get install -y -q nginx) \
		|| echo "nginx not installed: tests/soak/test_nginx_front.py will skip"
	$(PY) -m pytest -m soak -s tests/soak

bench: install-dev
	@echo "Benchmarks (each prints its figures; see docs/):"; ls bench/*.py
