# The targets a Go team expects. `make test` is the README's test command
# and what .ci/run runs.

BINARY   ?= ginstarter
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)

.PHONY: run build test bench vet fmt-check clean

## run: serve on :8080 (public) and :9090 (admin), with .env if present
run:
	go run .

## build: a static, reproducible binary in bin/ with version information
build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/$(BINARY) .

## test: the allocation checks (which the race detector would distort),
## then every test under the race detector
test:
	go test -count=1 -run 'Allocate' ./middleware
	go test -race -count=1 ./...

## bench: the middleware benchmarks; compare each line with "bare"
bench:
	go test -run '^$$' -bench . -benchtime=2s -count=5 ./middleware

## vet: go vet and gofmt
vet: fmt-check
	go vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin
