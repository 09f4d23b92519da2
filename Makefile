# kafka-redis-connector — see README.md.
GO       ?= go
BIN      ?= bin/kafka-redis-connector
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

.PHONY: build test test-integration test-topologies test-faults services-up services-down lint demo bench bench-quick bench-axes

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kafka-redis-connector

## test: unit and component tests; needs no Kafka or Redis.
test:
	$(GO) test -race -count=1 ./...

## test-integration: the real-service suite (Kafka on KAFKA_BROKERS, Redis on REDIS_ADDR; see README).
test-integration:
	$(GO) test -tags integration -count=1 -v -timeout 40m ./testcontainers/...

## test-topologies: only the Redis Cluster, Sentinel and Valkey scenarios (part of test-integration),
## against the servers `make services-up` starts (their endpoints from `scripts/services.sh endpoints`;
## they reshard, kill and fail over those servers). About 3 minutes.
test-topologies:
	env $$(bash scripts/services.sh endpoints) KRCDEV_IT_CONTROL_SERVICES=1 \
		$(GO) test -tags integration -count=1 -v -timeout 15m -run 'TestCluster|TestSentinel|TestValkey' ./testcontainers/...

## fuzz: every Fuzz target in a *_fuzz_test.go file, FUZZTIME each (default 10s). A failing input
## is written to that package's testdata/fuzz/ and, once committed, runs in `make test` as a regression case.
##
## Go 1.26's fuzzing coordinator can fail a target with a bare "context deadline exceeded" (no
## failing input) when -fuzztime ends on a busy machine: go.dev/issue/75804, fixed in Go 1.27. So
## fuzzing alone runs on the Go 1.27.3 toolchain, which the go command fetches from the module proxy
## (~76 MB, once); the module itself stays on Go 1.26. FUZZ_TOOLCHAIN=local keeps the installed Go.
FUZZTIME ?= 10s
FUZZ_TOOLCHAIN ?= go1.27.3
.PHONY: fuzz
fuzz:
	@set -e; for f in $$(find . -name '*_fuzz_test.go' -not -path './.git/*' | sort); do \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "=== fuzz $$(dirname "$$f") $$name for $(FUZZTIME)"; \
			GOTOOLCHAIN=$(FUZZ_TOOLCHAIN) $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) "$$(dirname "$$f")"; \
		done; \
	done

## test-faults: the full fault suite (docs/RELIABILITY.md): minute-long Redis outages, latency,
## resets, kills, poison records, 10 connector crashes in 500,000 records, and the same faults
## under delivery.guarantee exactly_once (duplicated = 0); the scenarios without an at_least_once
## test of their own (the 10 crashes on a Redis Cluster, ...) run under both guarantees. The
## Cluster's address comes from `scripts/services.sh endpoints`, as for test-topologies.
test-faults:
	env $$(bash scripts/services.sh endpoints) KRCDEV_IT_FULL=1 $(GO) test -tags integration -count=1 -v -timeout 60m -run 'Fault|ExactlyOnce' ./testcontainers/...

## services-up / services-down: a local Apache Kafka (KRaft) and redis-server on 127.0.0.1.
services-up:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

demo:
	$(GO) run ./cmd/kafka-redis-connector demo

## bench: the whole benchmark against the local real services (make services-up); ends with the bench: line.
## BENCH_BROKERS and BENCH_REDIS point it elsewhere.
BENCH_BROKERS ?= 127.0.0.1:9092
BENCH_REDIS   ?= 127.0.0.1:6379
bench: build
	$(BIN) bench --brokers $(BENCH_BROKERS) --redis-addr $(BENCH_REDIS)

## bench-quick: the regression guard (about 35 s): an embedded broker and a private redis-server on a
## free port (redis-server must be on PATH); prints the same bench: line and fails only if a ratio
## within the run falls below its floor (bench --help, --quick), never on an absolute time.
bench-quick: build
	$(BIN) bench --quick

## bench-axes: the cost tables of BENCHMARKS.md "Cost growth on every axis" (about 15 min): partitions,
## value size, {key} fan-out, delivery guarantee and schema-registry formats, the connector binary in its
## own process next to the ceiling of each row, one axes: line per row. Kafka on BENCH_BROKERS, a private
## redis-server (on PATH), the schema registry of `make services-up` (BENCH_SR; empty: an in-process double).
BENCH_SR ?= $(shell bash scripts/schema-registry.sh url)
bench-axes: build
	$(BIN) bench --brokers $(BENCH_BROKERS) --redis-server redis-server --axes all --rounds 2 --schema-registry "$(BENCH_SR)"

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
