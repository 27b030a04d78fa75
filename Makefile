# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 5000
IDP_PORT ?= 5556
export FLASK_APP := wsgi

.PHONY: run test install install-test system-deps assets migrate idp lint bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/uswds/.installed: node_modules/.installed
	rm -rf static/uswds
	mkdir -p static/uswds
	cp -r node_modules/@uswds/uswds/dist/css node_modules/@uswds/uswds/dist/js \
	      node_modules/@uswds/uswds/dist/img node_modules/@uswds/uswds/dist/fonts static/uswds/
	touch $@

install: $(VENV)/.installed static/uswds/.installed

# Debian packages the tests drive: a real browser, an independent TOTP and a QR decoder.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v oathtool >/dev/null || ! command -v zbarimg >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium oathtool zbar-tools >/dev/null; \
	fi

install-test: install system-deps

migrate: install
	$(VENV)/bin/flask db upgrade

run: migrate
	@echo "CQMR onboarding wizard: http://$(HOST):$(PORT)/"
	$(VENV)/bin/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - wsgi:app

test: install-test
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check cqmr_wizard tests bench wsgi.py

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules static/uswds .pytest_cache
