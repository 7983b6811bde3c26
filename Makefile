# The two commands a newcomer needs: `make run` and `make test`.
GO ?= go
BIN := bin

.PHONY: run test build vet sandbox node-deps clean

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

## node-deps: the official Node SDK for the conformance test (pinned in conformance/node)
node-deps:
	@if command -v npm >/dev/null; then cd conformance/node && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the Node SDK conformance test will be skipped (it fails in CI)"; fi

## test: vet, then every test (unit, handler, sandbox, Node SDK conformance, headless browser) with the race detector
test: vet node-deps
	$(GO) test -race -count=1 ./...

clean:
	rm -rf $(BIN)
