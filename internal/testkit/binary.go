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
	"testing"
)

// build is the service's binary, built at most once per test process into
// a directory that WithBinary removes when the tests have run.
var build struct {
	mu      sync.Mutex
	enabled bool   // the tests run through WithBinary
	dir     string // made by the first build
	path    string
	err     error
	done    bool
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
	build.mu.Lock()
	build.enabled = true
	build.mu.Unlock()
	code := w.m.Run()
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.dir != "" {
		if err := os.RemoveAll(build.dir); err != nil {
			fmt.Fprintf(os.Stderr, "removing the built binary: %v\n", err)
		}
	}
	return code
}

// ServiceBinary returns the path of the service's binary, built from the
// main package at the module root by the first test of the process that
// asks for it; the others wait for that build and share it. It fails tb
// when the build fails, or when the tests do not run through WithBinary,
// which removes the binary at the end.
func ServiceBinary(tb testing.TB) string {
	tb.Helper()
	build.mu.Lock()
	defer build.mu.Unlock()
	if !build.enabled {
		tb.Fatal("the binary is built only for tests that run through testkit.WithBinary in TestMain, which removes it at the end")
	}
	if !build.done {
		build.done = true
		build.dir, build.path, build.err = buildService()
	}
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

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
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", path, ".") //nolint:gosec // G204: path is the temporary directory's, made here
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
