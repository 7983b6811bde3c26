# The two commands a newcomer needs: `make run` and `make test`.
GO ?= go
# go.mod asks for go1.27.3 (the 1.26 standard library has known holes); machines whose Go
# says GOTOOLCHAIN=local would refuse it, so every go command here names it. The go
# command fetches it from the module proxy the first time (about 10 s).
export GOTOOLCHAIN := go1.27.3
BIN := bin

.PHONY: run test build vet vulncheck sandbox node-deps clean bench fuzz

## run: the app on http://localhost:8000, on the built-in sandbox unless SMARTCAR_CLIENT_ID is set
run:
	$(GO) run ./cmd/app

## sandbox: the sandbox alone on http://127.0.0.1:8001, for apps written with any Smartcar SDK
sandbox:
	$(GO) run ./cmd/sandbox

## build: both binaries into bin/
build:
	$(GO) build -o $(BIN)/app ./cmd/app
	$(GO) build -o $(BIN)/sandbox ./cmd/sandbox

vet:
	@unformatted=$$(gofmt -l cmd internal templates static); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## vulncheck: govulncheck over the module (vuln.go.dev, else a database built from golang.org/x/vulndb; see .ci/vulncheck)
vulncheck:
	@bash .ci/vulncheck

## node-deps: the official Node SDK for the conformance test (pinned in internal/conformance/node)
node-deps:
	@if command -v npm >/dev/null; then cd internal/conformance/node && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the Node SDK conformance test will be skipped (it fails in CI)"; fi

## test: vet, govulncheck, then every test (unit, handler, sandbox, Node SDK conformance, headless browser) with the race detector
test: vet vulncheck node-deps
	$(GO) test -race -count=1 ./...

clean:
	rm -rf $(BIN)

## bench: app vs bare net/http vs the Express tutorial, /vehicle timings, memory, sandbox API,
## Go micro-benchmarks; writes docs/performance.md (a few minutes; BENCHFLAGS=-quick for a smoke run)
bench:
	@if ! command -v wrk >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing wrk with apt-get"; \
		timeout 300 sh -c 'apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)' >/dev/null 2>&1 || true; \
	fi; \
	command -v wrk >/dev/null 2>&1 || echo "wrk not available: cmd/bench uses its built-in Go load generator"
	$(GO) build -o $(BIN)/bench/bench ./cmd/bench
	$(BIN)/bench/bench $(BENCHFLAGS)

## fuzz: every Go fuzz target in the repo (found with go test -list), FUZZTIME each (default 10s);
## their seed corpora (testdata/fuzz) already run in `make test`. New failures land in testdata/fuzz.
FUZZTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		list=$$($(GO) test -list '^Fuzz' $$pkg); \
		for target in $$(echo "$$list" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done
