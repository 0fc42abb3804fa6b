# The service image: a static binary on distroless, run as a non-root user.
#
#   docker build -t ginstarter \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" .
#
# The two base images are build arguments so that a registry mirror can stand
# in for them (--build-arg GO_IMAGE=mirror.example/golang:1.26.10); their
# defaults are what ships. GO_IMAGE's tag is go.mod's toolchain directive, the
# patched Go release that builds the service: keep them equal
# (.ci/check-image checks it). Pin both by digest (image:tag@sha256:...)
# for reproducible builds.
ARG GO_IMAGE=golang:1.26.10
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# The build runs on the builder's own platform and cross-compiles, so a
# multi-platform build (docker buildx --platform linux/amd64,linux/arm64)
# needs no emulation.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum
# change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
# CGO_ENABLED=0: a static binary, which distroless/static needs (it has no libc).
# The cache mount keeps compiled packages between builds (BuildKit, podman).
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/ginstarter .

FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="ginstarter" \
      org.opencontainers.image.source="https://github.com/ginstarter/ginstarter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# Owned by root and not writable by the user that runs it.
COPY --from=build /out/ginstarter /ginstarter
# nonroot in distroless; numeric, so that Kubernetes' runAsNonRoot can verify
# it without reading /etc/passwd.
USER 65532:65532
# 8080: the public listener (HTTP_ADDR). 9090: the admin listener with
# /metrics (ADMIN_ADDR); keep it off the public network.
EXPOSE 8080 9090
# The binary is PID 1 and handles SIGTERM itself (graceful drain); no shell.
ENTRYPOINT ["/ginstarter"]
