# The two commands of the README: `make demo` and `make test`. Everything they need is set up
# here, from a fresh clone on a machine with Python 3.11 (and apt-get as root for the
# system packages some tests use).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
CACHE := $(CURDIR)/.cache
# The collection as users get it: built with ansible-galaxy and installed from the tarball.
COLLECTIONS := $(CACHE)/installed
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)
export LC_ALL := C.UTF-8
export ANSIBLE_NOCOLOR := 1
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: all venv system-deps collection demo test unit integration molecule sanity lint clean

all: test

$(STAMP): requirements.txt tests/requirements.txt tests/simulator/pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -r tests/requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check -e tests/simulator
	touch $@

venv: $(STAMP)

# Debian packages used by the tests: shellcheck for ansible-test sanity.
SYSTEM_PACKAGES := shellcheck tinyproxy krb5-kdc krb5-admin-server krb5-user libkrb5-dev chromium chromium-driver
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "WARNING: could not install$$missing; the tests that need them will be skipped"; \
	  else echo "WARNING: not root, cannot install$$missing"; fi; \
	fi

collection: $(STAMP)
	rm -rf $(CACHE)/build $(COLLECTIONS)
	mkdir -p $(CACHE)/build
	$(BIN)/ansible-galaxy collection build --force --output-path $(CACHE)/build . >/dev/null
	$(BIN)/ansible-galaxy collection install --force -p $(COLLECTIONS) $(CACHE)/build/wsman-winrm-*.tar.gz >/dev/null
	@echo "wsman.winrm installed in $(COLLECTIONS)"

demo: collection
	$(BIN)/python demo/run_demo.py

unit: $(STAMP)
	$(PYTEST) tests/unit -q

integration: collection system-deps
	$(PYTEST) tests/integration -q

sanity: $(STAMP) system-deps
	tests/sanity.sh

# Every scenario under extensions/molecule, each against its own simulated hosts.
molecule: collection
	cd extensions && $(BIN)/molecule test --all

lint: collection
	$(BIN)/ansible-lint --offline --profile production
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

test: venv system-deps collection
	$(PYTEST) tests/unit tests/integration -q
	cd extensions && $(BIN)/molecule test --all
	tests/sanity.sh
	$(BIN)/ansible-lint --offline --profile production
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

clean:
	rm -rf $(CACHE) tests/output
