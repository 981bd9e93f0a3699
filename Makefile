# 仮想化技術入門 — every command a reader, author or CI needs.
# `make serve` and `make test` do all set-up on a fresh machine with Python 3.11+.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1
# Reproducible builds: the build date (sitemap lastmod) is the last commit's date.
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

.PHONY: help serve build offline test lint bench bench-deps screenshots linkcheck lock permalinks clean

help:
	@echo "make serve       serve the site at http://127.0.0.1:8000 with live reload"
	@echo "make build       strict build of the whole site into site/"
	@echo "make offline     build/kasouka-nyumon-offline.zip: the site for reading from disk"
	@echo "make test        every test: prose lint, build, content, headless Chromium"
	@echo "make lint        Japanese prose lint (textlint) and English spelling (cspell)"
	@echo "make bench       page weight and load time of every page, against default Material"
	@echo "make screenshots every page, light/dark, desktop/phone, into screenshots/"
	@echo "make linkcheck   check every external URL of the site (needs internet)"
	@echo "make permalinks  add the current pages and heading ids to the permalink contract"
	@echo "make lock        regenerate the lock files from pyproject.toml"
	@echo "make clean       remove site/ and the virtual environment"

# The venv is rebuilt when a lock file changes; a stamp file records each install.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.docs-installed: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	@touch $@

$(VENV)/.test-installed: requirements-test.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-test.lock
	@touch $@ $(VENV)/.docs-installed

# The offline package: .html URLs, inlined search index, the iframe-worker shim
# from node_modules (overrides/hooks/offline_package.py). Open index.html from the zip.
offline: $(VENV)/.docs-installed node_modules/.package-lock.json
	rm -rf build/offline build/kasouka-nyumon-offline.zip
	OFFLINE=true $(BIN)/mkdocs build --strict -d build/offline/kasouka-nyumon
	$(BIN)/python -m zipfile -c build/kasouka-nyumon-offline.zip build/offline/kasouka-nyumon
	@echo "wrote build/kasouka-nyumon-offline.zip"

serve: $(VENV)/.docs-installed
	$(BIN)/mkdocs serve -a 127.0.0.1:8000

build: $(VENV)/.docs-installed
	$(BIN)/mkdocs build --strict

# Node tools for the tests (axe-core), pinned in package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Japanese pages: textlint with the preset and the term table (prh), including the
# glossary's `avoid` spellings. English pages: cspell with the project's words.
lint: $(VENV)/.docs-installed node_modules/.package-lock.json
	$(BIN)/python -m tests.tools.glossary_prh
	npx --no-install textlint "docs/**/*.md"
	npx --no-install cspell --no-progress --unique

test: lint $(VENV)/.test-installed
	$(BIN)/python -m tests.support.chromium --ensure
	$(BIN)/python -m pytest

tests/tools/lighthouse/node_modules/.package-lock.json: tests/tools/lighthouse/package-lock.json
	npm ci --prefix tests/tools/lighthouse --no-audit --no-fund

# CI installs the bench's tools too (.ci/run), so a stale lock fails there, not on a reader's clone.
bench-deps: tests/tools/lighthouse/node_modules/.package-lock.json

bench: $(VENV)/.test-installed bench-deps
	$(BIN)/python -m tests.support.chromium --ensure
	$(BIN)/python -m tests.tools.bench

screenshots: $(VENV)/.test-installed
	$(BIN)/python -m tests.support.chromium --ensure
	$(BIN)/python -m tests.tools.screenshots

linkcheck: $(VENV)/.test-installed
	$(BIN)/python -m tests.tools.linkcheck

permalinks: $(VENV)/.docs-installed
	$(BIN)/python -m tests.tools.permalinks --update

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --extra test -o requirements-test.lock pyproject.toml

clean:
	rm -rf site $(VENV) node_modules
