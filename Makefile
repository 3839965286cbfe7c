# xoshare: `make demo` runs a whole exchange on the fixtures, `make test` runs every test.
# Both install the Debian packages they need first (scripts/ensure-packages.sh).
SWIFT ?= swift
BUILD_DIR := .build/debug
N ?= 1000000

FUZZ_SECONDS ?= 60

.PHONY: all deps build release test demo lint format bench coverage fuzz fuzz-seeds clean

all: build

deps:
	@scripts/ensure-packages.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build
	XOSHARE_BIN=$(CURDIR)/$(BUILD_DIR)/xoshare $(SWIFT) test

demo: build
	@scripts/demo.sh $(BUILD_DIR)/xoshare

lint: deps
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Fuzz
	mandoc -T lint -W warning man/xoshare.1 man/xoshare-bundle.5

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests Fuzz

coverage: deps
	$(SWIFT) build
	XOSHARE_BIN=$(CURDIR)/$(BUILD_DIR)/xoshare $(SWIFT) test --enable-code-coverage
	@scripts/coverage.sh

# libFuzzer on the invitation-code parser, the bundle header and the bundle archive reader,
# FUZZ_SECONDS each; crashes go to .build/fuzz/crashes/.
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-seeds: deps
	@scripts/fuzz.sh seeds

# xoshare against `sqlite3 .dump | zstd` and `sqldiff` on N rows (default 1000000); see BENCHMARKS.md.
bench: deps
	@scripts/ensure-packages.sh sqlite3-tools time
	$(SWIFT) build -c release
	N=$(N) scripts/bench.sh

clean:
	rm -rf .build
