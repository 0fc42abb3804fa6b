package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/internal/testlog"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ginstarter-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary.dir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

func TestProbesAreServedButNotCounted(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	c := newClient(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			if resp, body := do(t, c, method, svc.URL(path), nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: status %d, want 200; body %s", method, path, resp.StatusCode, body)
			}
		}
	}
	if status, _ := get(t, c, svc.URL("/v1/items")); status != http.StatusOK {
		t.Fatalf("GET /v1/items: status %d, want 200", status)
	}
	resp, body := do(t, c, http.MethodGet, svc.URL("/metrics"), nil, nil)
	checkError(t, resp, body, http.StatusNotFound, "not_found")
	if status, body := get(t, c, "http://"+svc.Admin+"/healthz"); status != http.StatusOK {
		t.Errorf("admin GET /healthz: status %d, want 200; body %s", status, body)
	}

	mfs, _ := scrape(t, c, svc.Admin)
	if got := value(mfs, durationMetric, labels("http_route", "/v1/items")); got != 1 {
		t.Errorf("GET /v1/items recorded %v times, want 1", got)
	}
	routes := labelValues(mfs, "http_route")
	for _, r := range []string{"/healthz", "/readyz", "/metrics"} {
		if routes[r] {
			t.Errorf("http_route %q is in the request metrics; probes and /metrics must not be", r)
		}
	}
}

func TestTwoServicesInOneProcessKeepTheirOwnMetrics(t *testing.T) {
	t.Parallel()
	a, b := launchService(t, nil), launchService(t, nil)
	a.waitServing(t)
	b.waitServing(t)
	if a.HTTP == b.HTTP || a.Admin == b.Admin {
		t.Fatalf("both services listen on %s and %s", a.HTTP, a.Admin)
	}
	c := newClient(t)
	items := labels("http_route", "/v1/items", "http_response_status_code", "200")
	counts := func() (float64, float64) {
		ma, _ := scrape(t, c, a.Admin)
		mb, _ := scrape(t, c, b.Admin)
		return value(ma, durationMetric, items), value(mb, durationMetric, items)
	}
	for range 3 {
		get(t, c, a.URL("/v1/items"))
	}
	if ca, cb := counts(); ca != 3 || cb != 0 {
		t.Errorf("after 3 requests to the first: counts %v and %v, want 3 and 0", ca, cb)
	}
	get(t, c, b.URL("/v1/items"))
	if ca, cb := counts(); ca != 3 || cb != 1 {
		t.Errorf("after 1 request to the second: counts %v and %v, want 3 and 1", ca, cb)
	}
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := writeSelfSignedCert(t, t.TempDir())
	svc := startService(t, map[string]string{"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile})

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	tlsClient := &http.Client{Transport: tr, Timeout: waitLimit}
	if status, body := get(t, tlsClient, "https://"+svc.HTTP+"/healthz"); status != http.StatusOK {
		t.Errorf("GET https://.../healthz: status %d, want 200; body %s", status, body)
	}

	plain := newClient(t)
	resp, err := plain.Get(svc.URL("/healthz"))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the HTTPS port: status %d, want 400 or an error", resp.StatusCode)
		}
	}
}

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
			var logs testlog.Buffer
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { done <- Run(ctx, buildinfo.New("", ""), func(k string) string { return vars[k] }, &logs) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(waitLimit):
				cancel()
				t.Fatalf("run did not return within %v (then returned %v); log:\n%s", waitLimit, <-done, &logs)
			}
			if err == nil {
				t.Fatal("run returned nil, want an error")
			}
			for _, name := range tt.names {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("the error does not name %s: %v", name, err)
				}
			}
			if _, ok := logs.Find("serving"); ok {
				t.Errorf("run served before failing; log:\n%s", &logs)
			}
		})
	}
}

func TestBinaryShutsDownGracefully(t *testing.T) {
	t.Parallel()
	p := startBinary(t, t.TempDir(), "DEMO_ENDPOINTS=true", "SHUTDOWN_DRAIN_DELAY=1s", "SHUTDOWN_TIMEOUT=5s")
	c := newClient(t)
	type result struct {
		status int
		err    error
	}
	slept := make(chan result, 1)
	go func() {
		resp, err := c.Get(p.URL(sleepRoute + "?d=2s"))
		if err != nil {
			slept <- result{err: err}
			return
		}
		resp.Body.Close()
		slept <- result{status: resp.StatusCode}
	}()
	eventually(t, "the sleep in flight", func() (bool, string) {
		mfs, _ := scrape(t, c, p.Admin)
		v := value(mfs, activeMetric, labels("http_route", sleepRoute))
		return v == 1, fmt.Sprintf("%s = %v", activeMetric, v)
	})

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, "/readyz answers 503", func() (bool, string) {
		resp, err := c.Get(p.URL("/readyz"))
		if err != nil {
			t.Fatalf("GET /readyz after SIGTERM: %v; the listener closed before readiness turned 503", err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable, fmt.Sprintf("status %d", resp.StatusCode)
	})
	if status, body := get(t, c, p.URL("/healthz")); status != http.StatusOK {
		t.Errorf("GET /healthz while draining: status %d, want 200; body %s", status, body)
	}
	select {
	case r := <-slept:
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("the request in flight at SIGTERM: status %d, error %v; want 200", r.status, r.err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the request in flight at SIGTERM did not end within %v", waitLimit)
	}
	if code := p.Wait(t); code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, p.Stderr)
	}
	if _, ok := p.Stdout.Find("shutdown: done"); !ok {
		t.Errorf("no \"shutdown: done\" log line; log:\n%s", p.Stdout)
	}
	if conn, err := net.DialTimeout("tcp", p.HTTP, waitLimit); err == nil {
		conn.Close()
		t.Errorf("%s accepts connections after the process exited", p.HTTP)
	}
}

func TestBinaryExitsNonZeroOnBadSettings(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"HTTP_ADDR", "LOG_FORMAT", "SHUTDOWN_TIMEOUT"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := launchBinary(t, t.TempDir(), name+"=bad-value")
			if code := p.Wait(t); code == 0 {
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
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.Wait(t); code != 0 {
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

// binary is the program built once for the tests that need a process of
// its own (signals are per process); TestMain owns its directory.
var binary struct {
	dir  string
	once sync.Once
	path string
	err  error
}

// buildBinary builds the program once and returns its path. It skips the
// test under -short.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds and runs the binary")
	}
	binary.once.Do(func() {
		path := filepath.Join(binary.dir, "svc")
		out, err := exec.Command("go", "build", "-o", path, "..").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
		binary.path = path
	})
	if binary.err != nil {
		tb.Fatal(binary.err)
	}
	return binary.path
}

// proc is one process of the built program.
type proc struct {
	HTTP, Admin    string // host:port of the public and the admin listener
	Stdout, Stderr *testlog.Buffer

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// launchBinary starts the built program in dir with only the loopback
// addresses and env in its environment. The process is killed when the
// test ends, if it is still running.
func launchBinary(tb testing.TB, dir string, env ...string) *proc {
	tb.Helper()
	p := &proc{Stdout: new(testlog.Buffer), Stderr: new(testlog.Buffer), done: make(chan struct{})}
	p.cmd = exec.Command(buildBinary(tb))
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{"HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0"}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		defer close(p.done)
		_ = p.cmd.Wait()
	}()
	tb.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// startBinary starts the built program (see launchBinary) and waits until
// it serves.
func startBinary(tb testing.TB, dir string, env ...string) *proc {
	tb.Helper()
	p := launchBinary(tb, dir, env...)
	p.HTTP, p.Admin = waitServing(tb, p.Stdout, p.done)
	return p
}

// Wait waits for the process to exit and returns its exit code.
func (p *proc) Wait(tb testing.TB) int {
	tb.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(2 * waitLimit):
		tb.Fatalf("the process did not exit within %v; log:\n%s", 2*waitLimit, p.Stdout)
		return -1
	}
}

// URL returns the address of path on the public listener.
func (p *proc) URL(path string) string { return "http://" + p.HTTP + path }
