// Command ginstarter is a production-grade Gin microservice: panic recovery,
// Prometheus metrics with per-route in-flight requests, graceful shutdown
// for Kubernetes, and a small example resource.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/joho/godotenv"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/server"
)

// version and revision are set at build time with
// -ldflags "-X main.version=v1.2.3 -X main.revision=abc123".
var (
	version  string
	revision string
)

func main() {
	// A container has no .env; only a missing file is fine. Variables that
	// are already set win over the file.
	if err := godotenv.Load(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "error: loading .env: %v\n", err)
		os.Exit(1)
	}
	if err := server.Run(context.Background(), buildinfo.New(version, revision), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
