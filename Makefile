# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 5000
IDP_PORT ?= 5556
CQMR_PORT ?= 5557
export FLASK_APP := wsgi

.PHONY: run test install install-test system-deps assets migrate serving-url idp saml-idp local-cqmr lint bench clean

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

# Debian packages the tests drive: a real browser, an independent TOTP and a QR decoder; xmlsec1,
# which signs, verifies and decrypts SAML messages (pysaml2); the Unicode fonts the agreement
# PDFs embed (Noto Sans, Noto Sans Arabic, Noto Sans CJK); and a Redis of the suite's own that
# the outage tests stop and start (tests/fault_services.py).
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v oathtool >/dev/null || ! command -v zbarimg >/dev/null \
	  || ! command -v xmlsec1 >/dev/null \
	  || [ ! -f /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf ] \
	  || [ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium oathtool zbar-tools xmlsec1 \
	    fonts-noto-core fonts-noto-cjk >/dev/null; \
	fi
	@if ! command -v redis-server >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	fi

install-test: install system-deps

# The agreement texts to publish after migrating: the shipped SAMPLES until the program's real
# texts are given (AGREEMENTS_DIR=path/to/texts). Unchanged texts are left as they are.
AGREEMENTS_DIR ?= cqmr_wizard/agreements/sample_documents

# After an upgrade that changed what the progress projection holds, it is rebuilt once (verify
# prints what differs and exits 1; a fresh or current database is left as it is).
migrate: install
	$(VENV)/bin/flask db upgrade
	$(VENV)/bin/flask agreements load $(AGREEMENTS_DIR)
	$(VENV)/bin/flask progress verify >/dev/null || $(VENV)/bin/flask progress rebuild

# The local OpenID Connect provider standing in for OneHealthPort (accounts and passwords in
# cqmr_wizard/dev_idp/sample_accounts.json). `make run` starts it beside the app unless
# OIDC_ISSUER is set (a real provider), or DEV_IDP=0 (one configured in instance/config.py).
# With SSO_PROTOCOL=saml it starts the local SAML IdP instead (npm saml-idp), unless
# SAML_IDP_METADATA is set; it serves the wizard and the local CQMR stand-in below.
SSO_PROTOCOL ?= oidc
ifeq ($(SSO_PROTOCOL),saml)
DEV_IDP ?= $(if $(SAML_IDP_METADATA),0,1)
else
DEV_IDP ?= $(if $(OIDC_ISSUER),0,1)
endif
SAML_IDP_URL := http://$(HOST):$(IDP_PORT)
INSTANCE_PATH := $(or $(CQMR_INSTANCE_PATH),instance)
SAML_IDP_KEYS := $(INSTANCE_PATH)/saml-idp
LOCAL_CQMR_URL := http://$(HOST):$(CQMR_PORT)
# Recursive (=): SAML_IDP_CQMR, the local CQMR as its second service provider, is set below.
SAML_IDP_CMD = node cqmr_wizard/dev_idp/saml_server.mjs --host $(HOST) --port $(IDP_PORT) \
	--sp http://$(HOST):$(PORT) $(SAML_IDP_CQMR) --keys $(SAML_IDP_KEYS)
DEV_SAML_ENV := SSO_PROTOCOL=saml SAML_IDP_METADATA=$(SAML_IDP_URL)/metadata \
	SAML_IDP_CERT_FILE=$(SAML_IDP_KEYS)/idp-public-cert.pem
IDP_ISSUER := http://$(HOST):$(IDP_PORT)
IDP_ENV := IDP_REDIRECT_URIS=http://$(HOST):$(PORT)/sso/callback,http://localhost:$(PORT)/sso/callback \
	IDP_CQMR_REDIRECT_URIS=$(LOCAL_CQMR_URL)/callback
DEV_SSO_ENV := OIDC_ISSUER=$(IDP_ISSUER) OIDC_CLIENT_ID=cqmr-wizard OIDC_CLIENT_SECRET=cqmr-dev-secret \
	OHP_REGISTRATION_URL=$(IDP_ISSUER)/register

idp: node_modules/.installed
	$(IDP_ENV) node cqmr_wizard/dev_idp/server.mjs --host $(HOST) --port $(IDP_PORT)

saml-idp: node_modules/.installed
	$(SAML_IDP_CMD)

# The local CQMR stand-in (cqmr_wizard/local_cqmr): its SCIM service at /scim/v2 and a relying
# party of the local provider (SSO_PROTOCOL=oidc) or a service provider of the local SAML IdP
# (SSO_PROTOCOL=saml). `make run` starts it and points "Go to CQMR" and provisioning at it,
# unless the local provider is off or a CQMR is configured (CQMR_INITIATE_LOGIN_URI, CQMR_URL or
# CQMR_SCIM_URL set), or LOCAL_CQMR=0. Its users are kept in instance/local_cqmr.
LOCAL_CQMR ?= $(if $(CQMR_INITIATE_LOGIN_URI)$(CQMR_URL)$(CQMR_SCIM_URL),0,1)
LOCAL_CQMR_SCIM_TOKEN := cqmr-local-dev-scim-token
ifeq ($(SSO_PROTOCOL),saml)
LOCAL_CQMR_SSO := LOCAL_CQMR_SAML_IDP_METADATA=$(SAML_IDP_URL)/metadata
else
LOCAL_CQMR_SSO := LOCAL_CQMR_ISSUER=$(IDP_ISSUER) \
	LOCAL_CQMR_CLIENT_ID=cqmr-local LOCAL_CQMR_CLIENT_SECRET=cqmr-local-dev-secret
endif
LOCAL_CQMR_CMD := LOCAL_CQMR_SCIM_TOKEN=$(LOCAL_CQMR_SCIM_TOKEN) $(LOCAL_CQMR_SSO) \
	LOCAL_CQMR_WIZARD_URL=http://$(HOST):$(PORT)/ \
	$(PY) -m cqmr_wizard.local_cqmr --host $(HOST) --port $(CQMR_PORT) --data-dir $(INSTANCE_PATH)/local_cqmr
ifeq ($(DEV_IDP)$(LOCAL_CQMR),11)
# Recursive (=) so that $$! reaches the shell.
START_LOCAL_CQMR = @echo "CQMR stand-in: $(LOCAL_CQMR_URL)/ (SCIM 2.0 at $(LOCAL_CQMR_URL)/scim/v2)"
RUN_LOCAL_CQMR = $(LOCAL_CQMR_CMD) & cqmr=$$!;
SAML_IDP_CQMR := --cqmr $(LOCAL_CQMR_URL)
DEV_CQMR_ENV := CQMR_INITIATE_LOGIN_URI=$(LOCAL_CQMR_URL)/login CQMR_TARGET_LINK_URI=$(LOCAL_CQMR_URL)/ \
	CQMR_SCIM_URL=$(LOCAL_CQMR_URL)/scim/v2 CQMR_SCIM_TOKEN=$(LOCAL_CQMR_SCIM_TOKEN)
endif

local-cqmr: install
	$(LOCAL_CQMR_CMD)

# Where `make run` serves, written for the commands run beside it (`flask operators create` in
# another shell): the links in the mail they send point there (config.serving_url).
serving-url:
	@mkdir -p $(INSTANCE_PATH) && echo "http://$(HOST):$(PORT)" > $(INSTANCE_PATH)/serving-url

run: migrate node_modules/.installed serving-url
	@echo "CQMR onboarding wizard: http://$(HOST):$(PORT)/"
ifeq ($(DEV_IDP)$(SSO_PROTOCOL),1saml)
	@echo "OneHealthPort SAML stand-in: $(SAML_IDP_URL)/ (its metadata at $(SAML_IDP_URL)/metadata)"
	$(START_LOCAL_CQMR)
	@$(SAML_IDP_CMD) & idp=$$!; trap 'kill $$idp $${cqmr:-} 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 100); do $(PY) -c "import urllib.request as u; u.urlopen('$(SAML_IDP_URL)/metadata', timeout=1)" \
	  2>/dev/null && break; sleep 0.2; done; \
	$(RUN_LOCAL_CQMR) $(DEV_SAML_ENV) $(DEV_CQMR_ENV) OHP_REGISTRATION_URL=$(SAML_IDP_URL)/ \
	  $(VENV)/bin/gunicorn --bind $(HOST):$(PORT) --workers 2 -c python:cqmr_wizard.gunicorn_conf wsgi:app
else ifeq ($(DEV_IDP),1)
	@echo "OneHealthPort stand-in: $(IDP_ISSUER)/ (accounts in cqmr_wizard/dev_idp/sample_accounts.json)"
	$(START_LOCAL_CQMR)
	@$(IDP_ENV) node cqmr_wizard/dev_idp/server.mjs --host $(HOST) --port $(IDP_PORT) & idp=$$!; \
	$(RUN_LOCAL_CQMR) trap 'kill $$idp $${cqmr:-} 2>/dev/null' EXIT INT TERM; \
	$(DEV_SSO_ENV) $(DEV_CQMR_ENV) $(VENV)/bin/gunicorn --bind $(HOST):$(PORT) --workers 2 -c python:cqmr_wizard.gunicorn_conf wsgi:app
else
	$(VENV)/bin/gunicorn --bind $(HOST):$(PORT) --workers 2 -c python:cqmr_wizard.gunicorn_conf wsgi:app
endif

test: install-test
	$(VENV)/bin/ruff check cqmr_wizard tests bench wsgi.py
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check cqmr_wizard tests bench wsgi.py
	$(VENV)/bin/lint-imports --no-cache

# Pages over HTTP with wrk (a Debian package) against PostgreSQL and Redis on loopback.
bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules static/uswds .pytest_cache
