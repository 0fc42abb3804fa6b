# The targets a Go team expects. `make test` is the README's test command;
# `make` alone lists the targets.

BINARY   ?= ginstarter
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
IMAGE          ?= ginstarter:$(VERSION)
CONTAINER_TOOL ?= docker

.PHONY: help run build test e2e bench generate vet fmt-check lint cross fuzz vulncheck image ko-build clean

.DEFAULT_GOAL := help

## help: list the targets and what each does (what `make` alone does)
help:
	@awk '/^## [a-z0-9-]+:/ { sub(/^## /, ""); i = index($$0, ":"); printf "  %-20s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2); next } \
	      /^## / { sub(/^## /, ""); printf "  %-20s %s\n", "", $$0 }' $(MAKEFILE_LIST)

## run: serve on :8080 (public) and :9090 (admin), with .env if present
run:
	go run .

## build: a static, reproducible binary in bin/ with version information
build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/$(BINARY) .

## test: the allocation checks (which the race detector would distort),
## then every test under the race detector (e2e/ runs when prometheus is installed)
## GORACE=atexit_sleep_ms=0: no one-second pause as each race-enabled test binary exits.
test:
	go test -count=1 -run 'Allocate' ./middleware
	GORACE=atexit_sleep_ms=0 go test -race -count=1 ./...

## e2e: only the end-to-end test: a real Prometheus scrapes the built binary (needs prometheus)
e2e:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { echo "make e2e needs prometheus and promtool on PATH (Debian: apt-get install prometheus)"; exit 1; }
	go test -count=1 -v ./e2e

## bench: the middleware benchmarks; compare each line with "bare" (gin alone)
bench:
	go test -run '^$$' -bench . -benchtime=2s -count=5 ./middleware

## generate: rewrite the files generated from the code (.env.example, the README's configuration table)
generate:
	go generate ./...

## vet: go vet and gofmt
vet: fmt-check
	go vet ./...

## fmt-check: fail when a file needs gofmt
fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || echo .))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: golangci-lint (pinned in .ci/lint, installed with go install) with .golangci.yml
lint:
	bash .ci/lint

## cross: build for 386, arm, arm64 and amd64 as the images build (CGO_ENABLED=0, -trimpath), and run
## the metrics and middleware tests as 386 (under qemu-i386 when it is installed: Debian's qemu-user;
## some kernels cannot run 32-bit programs)
cross:
	@for arch in 386 arm arm64 amd64; do echo "CGO_ENABLED=0 GOARCH=$$arch go build -trimpath ./..."; \
		CGO_ENABLED=0 GOARCH=$$arch go build -trimpath ./... || exit 1; done
	@bash .ci/test-386 ./metrics ./middleware

## fuzz: run each fuzz target for a short fixed time (FUZZTIME=15s each); fails on a finding
fuzz:
	bash .ci/fuzz

## vulncheck: govulncheck against an offline database built from golang.org/x/vulndb
vulncheck:
	bash .ci/vulncheck

## image: the container image from the Dockerfile (CONTAINER_TOOL=podman for podman)
image:
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE) .

## ko-build: build and push the image with ko, linux/amd64 and linux/arm64 (set KO_DOCKER_REPO)
ko-build:
	VERSION=$(VERSION) ko build --bare .

## clean: remove bin/
clean:
	rm -rf bin
# template-lab:begin

.PHONY: rename lab

## rename: make the template your own service, once, in a clean git tree; removes
## the template's lab (KEEP_LAB=1 keeps it): make rename MODULE=github.com/acme/orders NAME=orders
rename:
	@missing=""; [ -n "$(MODULE)" ] || missing="MODULE"; [ -n "$(NAME)" ] || missing="$${missing:+$$missing and }NAME"; \
	if [ -n "$$missing" ]; then echo "make rename: set $$missing, e.g. make rename MODULE=github.com/acme/orders NAME=orders" >&2; exit 2; fi
	cd lab && go run ./cmd/rename -dir .. -module "$(MODULE)" -name "$(NAME)" $(if $(KEEP_LAB),-keep-lab)

## lab: the template's lab lane, as CI runs it (bash lab/run); one study at a time: make -C lab help
lab:
	bash lab/run
# template-lab:end
