# shardgate — the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/shardgate
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# runtime.godebugDefault: Go's sysmon kept out of its deep sleep, whose
# wake-up on each idle-to-busy turn costs a one-P proxy about a third of its
# CPU per statement (bench/RESULTS.md, 2026-11-26). A default, not the
# environment: a GODEBUG set by the user still applies, key by key.
SCHED_GODEBUG := schedtrace=2147483647
LDFLAGS := -X main.version=$(VERSION) -X runtime.godebugDefault=$(SCHED_GODEBUG)
# Integration tests start real servers; keep packages from starting too many
# clusters at once on a 2-core machine.
TEST_FLAGS ?= -count=1 -timeout 20m -p 2

.PHONY: all deps build demo test vet unit bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build:
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/shardgate

# Starts the sandbox cluster (2 Postgres and 2 MariaDB shards, a replica
# each) and the proxy in front of it; Ctrl-C stops everything.
demo: deps build
	$(BIN) demo

# All tests: vet, unit, integration against real servers.
test: deps vet
	$(GO) test $(TEST_FLAGS) ./...

vet:
	$(GO) vet ./...

# Pure packages only: no servers needed.
unit:
	$(GO) test -count=1 ./shardmap/... ./store/... ./config/... ./auth/... ./internal/... ./admin/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shardmap/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCoerce -fuzztime 30s ./shardmap/
	$(GO) test -run '^$$' -fuzz FuzzMurmur3 -fuzztime 30s ./shardmap/

clean:
	rm -rf bin
