package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// build is the service's binary, built at most once per test process into
// a directory that WithBinary removes when the tests have run.
var build struct {
	enabled atomic.Bool // the tests run through WithBinary
	once    sync.Once
	dir     string // made by the build; the fields are set inside once
	path    string
	err     error
}

// TestingM is what a TestMain hands on: *testing.M, or a wrapper of it.
// It is goleak.TestingM too, so that goleak.VerifyTestMain accepts it.
type TestingM interface {
	Run() int
}

// WithBinary wraps m so that its Run removes the binary that ServiceBinary
// built, once the tests have run. A package whose tests run the binary
// runs them through it in its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testkit.WithBinary(m).Run()) }
func WithBinary(m TestingM) TestingM { return withBinary{m} }

type withBinary struct{ m TestingM }

func (w withBinary) Run() int {
	build.enabled.Store(true)
	code := w.m.Run()
	build.once.Do(func() {}) // orders the reads below after any build
	if build.dir != "" {
		if err := os.RemoveAll(build.dir); err != nil {
			fmt.Fprintf(os.Stderr, "removing the built binary: %v\n", err)
		}
	}
	return code
}

// ServiceBinary returns the path of the service's binary, built from the
// main package at the module root once per test process; the tests that
// ask for it while it is built wait for that build and share it. It fails
// tb when the build failed, or when the tests do not run through
// WithBinary, which removes the binary at the end.
func ServiceBinary(tb testing.TB) string {
	tb.Helper()
	if !build.enabled.Load() {
		tb.Fatal("the binary is built only for tests that run through testkit.WithBinary in TestMain, which removes it at the end")
	}
	build.once.Do(buildOnce)
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

func buildOnce() { build.dir, build.path, build.err = buildService() }

// buildService builds the main package at the module root into a new
// temporary directory and returns the directory and the binary's path.
func buildService() (dir, path string, err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", "", err
	}
	dir, err = os.MkdirTemp("", "service-test-")
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(dir, "service")
	// Without the symbol table and the debug information, as in a release
	// build: the link takes a second less, and stack traces keep their
	// function names and lines.
	cmd := exec.CommandContext(context.Background(), "go", "build", "-ldflags=-s -w", "-o", path, ".") //nolint:gosec // G204: path is the temporary directory's, made here
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, "", fmt.Errorf("go build in %s: %w\n%s", root, err, out)
	}
	return dir, path, nil
}

// ModuleRoot returns the directory of the main module, the one whose go.mod
// governs the test's working directory.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// moduleRoot asks the go command for the main module's go.mod, so that it
// holds whatever the module is called.
func moduleRoot() (string, error) {
	out, err := exec.CommandContext(context.Background(), "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: the tests do not run inside a module")
	}
	return filepath.Dir(gomod), nil
}
