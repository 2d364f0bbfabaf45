# Everything a fresh Debian machine (Python 3.11, root) needs: `make demo`, `make test`.
# System tools used by tests and the demo: git, ssh-keygen (SSH keys and signatures), openssl, gpg,
# docker-registry (the OCI registry the image-gate tests push to) and Node.js with npm (the third-party
# Sigstore signer in tests/support/sigstore_js).
# Both create or reuse .venv and install what they use; nothing is assumed installed.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Reinstall when the dependency list changes.
SIGSTORE_JS := tests/support/sigstore_js
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(SIGSTORE_JS)/package-lock.json | sha256sum | cut -c1-12)

.PHONY: all demo test lint unit fuzz bench clean

all: test

$(BIN)/python:
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' >/dev/null 2>&1; then \
		echo "installing python3-venv with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-dev; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml $(SIGSTORE_JS)/package-lock.json | $(BIN)/python
	@missing=""; \
	command -v git >/dev/null || missing="$$missing git"; \
	command -v ssh-keygen >/dev/null || missing="$$missing openssh-client"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v gpg >/dev/null || missing="$$missing gnupg"; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(BIN)/python -m pip install -q -e '.[dev,bench,fuzz]'
	npm ci --prefix $(SIGSTORE_JS) --no-audit --no-fund --loglevel=error
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash demo/run.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/ruff format --check src tests bench fuzz
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 -q tests

test: lint unit

fuzz: $(STAMP)
	$(BIN)/python fuzz/fuzz_seal.py -atheris_runs=200000
	$(BIN)/python fuzz/fuzz_scan.py -atheris_runs=200000

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/seal.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/scan.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/accuracy.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/robustness.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/verify.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/controller.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/images.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/external.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
