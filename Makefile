# xoshare: `make demo` runs a whole exchange on the fixtures, `make test` runs every test.
# Both install the Debian packages they need first (scripts/ensure-packages.sh).
SWIFT ?= swift
BUILD_DIR := .build/debug
N ?= 1000000

.PHONY: all deps build release test demo lint format bench coverage clean

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
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests
	mandoc -T lint -W warning man/xoshare.1 man/xoshare-bundle.5

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

coverage: deps
	$(SWIFT) build
	XOSHARE_BIN=$(CURDIR)/$(BUILD_DIR)/xoshare $(SWIFT) test --enable-code-coverage
	@scripts/coverage.sh

clean:
	rm -rf .build
