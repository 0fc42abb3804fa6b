# The targets a Go team expects. `make test` is the README's test command
# and what .ci/run runs.

BINARY   ?= ginstarter
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
IMAGE          ?= ginstarter:$(VERSION)
CONTAINER_TOOL ?= docker

.PHONY: help run rename build test bench vet fmt-check lint clean image ko-build check-image validate-manifests load fuzz vulncheck e2e

# `make` alone lists the targets; `make run` serves.
.DEFAULT_GOAL := help

## help: list the targets and what each does (what `make` alone does)
help:
	@awk '/^## [a-z0-9-]+:/ { sub(/^## /, ""); i = index($$0, ":"); printf "  %-20s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2); next } \
	      /^## / { sub(/^## /, ""); printf "  %-20s %s\n", "", $$0 }' $(firstword $(MAKEFILE_LIST))

## run: serve on :8080 (public) and :9090 (admin), with .env if present
run:
	go run .

## rename: make the template your own service, once, in a clean git tree:
## make rename MODULE=github.com/acme/orders NAME=orders
rename:
	@missing=""; [ -n "$(MODULE)" ] || missing="MODULE"; [ -n "$(NAME)" ] || missing="$${missing:+$$missing and }NAME"; \
	if [ -n "$$missing" ]; then echo "make rename: set $$missing, e.g. make rename MODULE=github.com/acme/orders NAME=orders" >&2; exit 2; fi
	go run ./internal/cmd/rename -module "$(MODULE)" -name "$(NAME)"

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

## fmt-check: fail when a file needs gofmt
fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: golangci-lint (pinned in .ci/lint, installed with go install) on every module, with .golangci.yml
lint:
	bash .ci/lint

## image: the container image from the Dockerfile (CONTAINER_TOOL=podman for podman)
image:
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE) .

## ko-build: build and push the image with ko, linux/amd64 and linux/arm64 (set KO_DOCKER_REPO)
ko-build:
	VERSION=$(VERSION) ko build --bare .

## check-image: lint the image files, build both images offline and run them
check-image:
	bash .ci/check-image

## validate-manifests: render deploy/, validate strictly offline and dry-run on a real API server
validate-manifests:
	bash .ci/validate-manifests

## fuzz: run each fuzz target for a short fixed time (FUZZTIME=15s each); fails on a finding
fuzz:
	bash .ci/fuzz

## vulncheck: govulncheck on every module against an offline database built from golang.org/x/vulndb
vulncheck:
	bash .ci/vulncheck

## e2e: a real Prometheus server (Debian's prometheus package) scrapes the built binary and evaluates deploy/'s queries and alerts
e2e:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { echo "make e2e needs prometheus and promtool on PATH (Debian: apt-get install prometheus)"; exit 1; }
	go test -count=1 -v ./e2e

## load: wrk against the service and a bare gin server on loopback, plus the /metrics scrape cost (needs wrk)
load:
	bash load/run.sh

## clean: remove bin/
clean:
	rm -rf bin
