package server_test

import (
	"context"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/internal/testkit"
	"github.com/ginstarter/ginstarter/server"
)

// Configuration: bad settings stop the service before it serves, with every
// bad variable named, both in-process and as the binary's exit; and the
// binary reads .env, under the environment, which wins.

func TestRunRefusesBadSettingsBeforeServing(t *testing.T) {
	t.Parallel()
	_, key, _ := writeSelfSignedCert(t, t.TempDir())
	tests := []struct {
		name  string
		env   map[string]string
		names []string // each must be in the error
	}{
		{"three bad values", map[string]string{"HTTP_ADDR": "nope", "SHUTDOWN_TIMEOUT": "-1s", "LOG_FORMAT": "xml"},
			[]string{"HTTP_ADDR", "SHUTDOWN_TIMEOUT", "LOG_FORMAT"}},
		{"more bad values", map[string]string{"MAX_BODY_BYTES": "0", "DEMO_ENDPOINTS": "maybe", "TRUSTED_PROXIES": "not-an-ip", "ADMIN_ADDR": "127.0.0.1:99999"},
			[]string{"MAX_BODY_BYTES", "DEMO_ENDPOINTS", "TRUSTED_PROXIES", "ADMIN_ADDR"}},
		{"key without certificate", map[string]string{"TLS_KEY_FILE": key}, []string{"TLS_CERT_FILE"}},
		{"missing certificate file", map[string]string{"TLS_CERT_FILE": filepath.Join(t.TempDir(), "missing.pem"), "TLS_KEY_FILE": key},
			[]string{"TLS_CERT_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0"}
			maps.Copy(vars, tt.env)
			var logs testkit.LogBuffer
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				done <- server.Run(ctx, buildinfo.New("", ""), func(k string) string { return vars[k] }, &logs)
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(waitLimit):
				cancel()
				t.Fatalf("Run did not return within %v (then returned %v); log:\n%s", waitLimit, <-done, &logs)
			}
			if err == nil {
				t.Fatal("Run returned nil, want an error")
			}
			for _, name := range tt.names {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("the error does not name %s: %v", name, err)
				}
			}
			if _, ok := logs.Find("serving"); ok {
				t.Errorf("Run served before failing; log:\n%s", &logs)
			}
		})
	}
}

func TestBinaryExitsNonZeroOnBadSettings(t *testing.T) {
	t.Parallel()
	skipBinaryIfShort(t)
	for _, name := range []string{"HTTP_ADDR", "LOG_FORMAT", "SHUTDOWN_TIMEOUT"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := testkit.LaunchService(t, "", name+"=bad-value")
			if code := p.Wait(t).ExitCode(); code == 0 {
				t.Errorf("exit code 0, want non-zero")
			}
			if !strings.Contains(p.Stderr.String(), name) {
				t.Errorf("stderr does not name %s:\n%s", name, p.Stderr)
			}
			if _, ok := p.Stdout.Find("serving"); ok {
				t.Errorf("it served before exiting; log:\n%s", p.Stdout)
			}
		})
	}
}

func TestBinaryReadsDotEnv(t *testing.T) {
	t.Parallel()
	// The process environment always holds the loopback addresses, so that
	// a failure to read .env cannot make the binary listen on every
	// interface; .env sets them too.
	dotenv := "LOG_FORMAT=text\nHTTP_ADDR=127.0.0.1:0\nADMIN_ADDR=127.0.0.1:0\nSHUTDOWN_DRAIN_DELAY=0s\n"
	tests := []struct {
		name     string
		dotenv   string // empty: no .env file
		env      []string
		wantText bool
	}{
		{".env sets the format", dotenv, nil, true},
		{"the environment wins", dotenv, []string{"LOG_FORMAT=json"}, false},
		{"no .env", "", []string{"SHUTDOWN_DRAIN_DELAY=0s"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.dotenv != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			p := startBinary(t, dir, tt.env...)
			if status, _ := get(t, newClient(t), p.URL("/healthz")); status != http.StatusOK {
				t.Errorf("GET /healthz: status %d, want 200", status)
			}
			p.Signal(t, syscall.SIGTERM)
			if code := p.Wait(t).ExitCode(); code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, p.Stderr)
			}
			for _, line := range p.Stdout.Lines() {
				if isText := strings.HasPrefix(line, "time="); isText != tt.wantText || (!isText && !strings.HasPrefix(line, "{")) {
					t.Errorf("log line %q; want the %s format", line, map[bool]string{true: "text", false: "JSON"}[tt.wantText])
				}
			}
		})
	}
}
