# spaceclimate: `make demo` sets up and runs the hub on the bundled data; `make test` tests it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export SCO_HOME ?= $(CURDIR)/.sco

.PHONY: setup system portal-assets demo test test-scale lint format bench clean

# Debian's Chromium drives the portal's browser tests (a test tool's own browser download
# cannot work offline), with a CJK font for the portal in Chinese. Installed once, only when
# missing.
system:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh | grep -q . || { \
	  echo "installing a CJK font for the portal in Chinese"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null; }

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The portal's front-end libraries (npm registry, versions pinned by package-lock.json) are
# copied into the package's static/vendor folder and served by the hub itself (no CDN).
PORTAL := src/spaceclimate/portal
PORTAL_STAMP := $(PORTAL)/static/vendor/.installed-stamp

$(PORTAL_STAMP): $(PORTAL)/package-lock.json $(PORTAL)/vendor.json
	npm ci --prefix $(PORTAL) --no-audit --no-fund --ignore-scripts --loglevel=error
	$(PY) $(PORTAL)/vendor.py
	touch $@

portal-assets: $(PORTAL_STAMP)

setup: $(STAMP) portal-assets

demo: setup
	$(BIN)/sco demo

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

# The suites run a second time as a hub at scale: PostgreSQL catalog (a fresh database), cubes
# in a local S3-compatible server, ingest and analytics on a Dask cluster of two worker
# processes (tests/profile.py starts them). Local-disk-only tests are left out there.
SCALE_TESTS := tests/test_ingest.py tests/test_api_zarr.py tests/test_api_edr.py \
	tests/test_api_tiles.py tests/test_client.py tests/test_api_processes.py \
	tests/test_derived_private.py

test: system lint
	$(BIN)/pytest -q
	SCO_TEST_PROFILE=scale $(BIN)/pytest -q $(SCALE_TESTS)

test-scale: setup
	SCO_TEST_PROFILE=scale $(BIN)/pytest -q $(SCALE_TESTS)

# The benchmark suite against the peers (not part of `make test`): installs PostGIS and the
# peers' own virtualenv, grows the data under benchmarks/.data (reused by the next run), runs
# every scenario and writes docs/benchmarks.md. See benchmarks/README.md.
bench: setup
	sh benchmarks/setup_peers.sh
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(SCO_HOME)
