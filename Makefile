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
# The suite on two workers, each test file whole on one of them (a file's fleet fixtures stay one
# process's); a worker has its own loopback addresses (tests/integration/harness.py).
PARALLEL := -n 2 --dist loadfile

.PHONY: all venv system-deps collection demo test unit integration molecule sanity lint ee matrix clean

all: test

$(STAMP): requirements.txt requirements-kerberos.txt tests/requirements.txt tests/simulator/pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -r tests/requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check -e tests/simulator
	touch $@

venv: $(STAMP)

# Debian packages used by the tests: shellcheck for ansible-test sanity; the simulator's independent
# clients (Go masterzen/winrm built with golang-go, Dell's wsl scripts with uuid-runtime, curl).
SYSTEM_PACKAGES := shellcheck tinyproxy krb5-kdc krb5-admin-server krb5-user libkrb5-dev chromium chromium-driver \
	golang-go golang-github-masterzen-winrm-dev wsl uuid-runtime curl
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

# The demo needs only what the collection needs at run time (requirements.txt), in a virtualenv of
# its own; the simulator runs from tests/simulator (its packages come with pypsrp and ansible-core).
DEMO_VENV := $(CACHE)/demo-venv

$(DEMO_VENV)/.installed: requirements.txt
	@echo "Preparing the demo (once): a virtualenv with the collection's runtime requirements in .cache/demo-venv"
	@rm -rf $(DEMO_VENV)
	@$(PYTHON) -m venv $(DEMO_VENV)
	@$(DEMO_VENV)/bin/pip install -qq --disable-pip-version-check -r requirements.txt
	@touch $@

demo: $(DEMO_VENV)/.installed
	@$(DEMO_VENV)/bin/python demo/run_demo.py

unit: $(STAMP)
	$(PYTEST) tests/unit -q

integration: collection system-deps
	$(PYTEST) tests/integration -q $(PARALLEL)

sanity: $(STAMP) system-deps
	tests/sanity.sh

# Every scenario under extensions/molecule, each against its own simulated hosts. Each runs even when
# an earlier one failed (molecule test --all stops at the first failure); the failures are named.
SCENARIOS := $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml))))
# $(call molecule_all,<bin folder>,<label>): sets the shell variable "failed". The scenarios run at
# the same time (each has its own loopback addresses and molecule folder; they mostly wait on the
# simulated hosts), each into its own log, printed when it ends.
molecule_all = running=""; mkdir -p $(CACHE)/logs; \
	for s in $(SCENARIOS); do \
	  log="$(CACHE)/logs/molecule-$$(echo "$(2)" | tr -d :)$$s.log"; \
	  (cd extensions && PATH=$(1):$$PATH $(1)/molecule test -s $$s) >"$$log" 2>&1 & running="$$running $$!:$$s:$$log"; \
	done; \
	for job in $$running; do \
	  pid=$${job%%:*}; rest=$${job\#*:}; s=$${rest%%:*}; log=$${rest\#*:}; \
	  wait $$pid || failed="$$failed $(2)molecule:$$s"; \
	  echo "=== $(2)molecule $$s"; cat "$$log"; \
	done

molecule: collection
	@failed=""; $(call molecule_all,$(BIN),); \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

lint: collection
	$(BIN)/ansible-lint --offline --profile production
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# The ansible-core versions meta/runtime.yml claims besides the one in .venv (2.19, see
# tests/requirements.txt). Each gets a virtualenv of its own under .cache/matrix with the runtime
# requirements, and runs MATRIX_TESTS (every module, filter and README example; the connection
# plugin) and every molecule scenario (check, apply, rerun, verify).
MATRIX_VERSIONS := 2.16 2.17 2.18
MATRIX_DIR := $(CACHE)/matrix
MATRIX_TESTS := tests/integration/test_examples.py tests/integration/test_connection_plugin_sim.py
# molecule 26.10 excludes ansible-core 2.17 in its metadata (!=2.17.*); 26.6 is the newest that takes it.
molecule_pin = $(if $(filter 2.17,$(1)),molecule==26.6.0,molecule==26.10.0)

$(MATRIX_DIR)/ansible-core-%/.installed: requirements.txt tests/requirements-matrix.txt tests/simulator/pyproject.toml
	rm -rf $(@D)
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/pip install -q --disable-pip-version-check -r tests/requirements-matrix.txt \
	  'ansible-core==$*.*' '$(call molecule_pin,$*)'
	$(@D)/bin/pip install -q --disable-pip-version-check --no-deps -e tests/simulator
	touch $@

# Runs every version even when one fails, then names the failures. The versions' pytest runs go at
# the same time (they mostly wait on simulated hosts; each has its own loopback addresses through
# WSMAN_TEST_OCTET and its own log); the molecule scenarios run one version after the other.
matrix: collection $(foreach v,$(MATRIX_VERSIONS),$(MATRIX_DIR)/ansible-core-$(v)/.installed)
	@failed=""; running=""; mkdir -p $(CACHE)/logs; \
	for v in $(MATRIX_VERSIONS); do \
	  venv=$(MATRIX_DIR)/ansible-core-$$v; log=$(CACHE)/logs/matrix-$$v-pytest.log; \
	  octet=$$((200 + $$(echo $$v | tr -d .) % 50)); \
	  (WSMAN_TEST_OCTET=$$octet PATH=$$venv/bin:$$PATH $$venv/bin/python -m pytest -p no:cacheprovider \
	    $(MATRIX_TESTS) -q) >$$log 2>&1 & running="$$running $$!:$$v"; \
	done; \
	for job in $$running; do \
	  v=$${job#*:}; venv=$(MATRIX_DIR)/ansible-core-$$v; \
	  wait $${job%%:*} || failed="$$failed $$v:pytest"; \
	  echo "=== ansible-core $$($$venv/bin/python -c "from ansible.release import __version__; print(__version__)")"; \
	  cat $(CACHE)/logs/matrix-$$v-pytest.log; \
	done; \
	for v in $(MATRIX_VERSIONS); do \
	  venv=$(MATRIX_DIR)/ansible-core-$$v; \
	  $(call molecule_all,$$venv/bin,$$v:); \
	done; \
	if [ -n "$$failed" ]; then echo "ansible-core matrix FAILED:$$failed"; exit 1; fi; \
	echo "ansible-core matrix passed: $(MATRIX_VERSIONS)"

# The execution environment: the collection's metadata as ansible-builder reads it, and the example
# definition (no container runtime needed; tests/integration/test_packaging.py checks the results).
ee: collection
	$(BIN)/ansible-builder introspect $(COLLECTIONS)
	$(BIN)/ansible-builder create -f extensions/ee/execution-environment.yml --context $(CACHE)/ee-context >/dev/null

test: venv system-deps collection
	$(PYTEST) tests/unit tests/integration -q $(PARALLEL)
	$(MAKE) --no-print-directory molecule
	$(MAKE) --no-print-directory matrix
	tests/sanity.sh
	$(BIN)/ansible-lint --offline --profile production
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

clean:
	rm -rf $(CACHE) tests/output
