# The front door: `make demo` and `make test` on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-12)

.PHONY: install demo test test-sqlite lint soak bench serve

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) manage.py demo && DEMO_MODE=1 DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

serve: install
	$(PY) manage.py runserver 127.0.0.1:8000

lint: install
	$(PY) -m ruff check .

test: install lint
	$(PY) -m pytest

# The same suite on the embedded default (SQLite, eager Celery), whatever the environment says.
test-sqlite: install
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) -m pytest

# Load, faults and long fuzzing (docs/security.md): PostgreSQL and Redis on 127.0.0.1, ~20 minutes; nginx in front of
# gunicorn for the slow-body attack and the benchmark through it (installed here when apt-get can).
soak: install
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || (apt-get update -q && apt-get install -y -q nginx) \
		|| echo "nginx not installed: tests/soak/test_nginx_front.py will skip"
	$(PY) -m pytest -m soak -s tests/soak

bench: install
	@echo "Benchmarks (each prints its figures; see docs/):"; ls bench/*.py
