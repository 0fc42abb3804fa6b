package tracecheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// job is the job that Prometheus scrapes every target as.
const job = "tracecheck"

// jaegerBinary returns the Jaeger binary: $JAEGER_BIN, or the one that
// lab/jaeger/build caches. The test is skipped when there is none.
func jaegerBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("JAEGER_BIN"); bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			t.Fatalf("JAEGER_BIN: %v", err)
		}
		return path
	}
	// The build script knows the cache's key (Jaeger's and Go's versions).
	out, err := exec.Command("bash", absPath(t, "../jaeger/build"), "--print-path").Output()
	if err != nil {
		t.Fatalf("bash lab/jaeger/build --print-path: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("no Jaeger binary at %s, so the trace check does not run: build it with `bash lab/jaeger/build` (minutes, once per machine), or name one in JAEGER_BIN", bin)
	}
	return bin
}

// prometheusBinary returns the prometheus on PATH. The test is skipped when
// there is none.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not on PATH, so the trace check does not run: install it (Debian: apt-get install prometheus); CI installs it")
	}
	return bin
}

// absPath returns the absolute path of path, relative to the test's
// directory.
func absPath(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// serviceModuleDir returns the directory of the service's module, as this
// module's replace directive names it.
func serviceModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ginstarter/ginstarter").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("go list -m github.com/ginstarter/ginstarter: %q, %v", out, err)
	}
	return dir
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lc net.ListenConfig
	ports := make([]int, n)
	// All are held until the last is chosen, so that they differ.
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for i := range ports {
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		addr, ok := ln.Addr().(*net.TCPAddr)
		if !ok {
			t.Fatalf("listener address %v is a %T, want *net.TCPAddr", ln.Addr(), ln.Addr())
		}
		ports[i] = addr.Port
	}
	return ports
}

// errPortTaken is what a launch returns when another process took a port
// between freePorts and the server's listen.
var errPortTaken = errors.New("port taken")

// launch starts a server three times at most, on new ports each time, while
// another process takes one of its ports first.
func launch[S any](t *testing.T, start func() (S, error)) S {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s, err := start()
		if err == nil {
			return s
		}
		if attempt == 3 || !errors.Is(err, errPortTaken) {
			t.Fatal(err)
		}
	}
}

// waitReady waits until ready reports true, and returns an error when proc
// ends first (errPortTaken when its log says so) or after waitLimit.
func waitReady(proc *testkit.Process, name string, ready func() bool) error {
	deadline := time.Now().Add(waitLimit)
	for !ready() {
		if proc.Exited() {
			<-proc.Done()
			if strings.Contains(proc.Stderr.String(), "address already in use") {
				return fmt.Errorf("%s: %w", name, errPortTaken)
			}
			return fmt.Errorf("%s ended before it was ready; its log:\n%s", name, proc.Stderr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v; its log:\n%s", name, waitLimit, proc.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// get sends GET u and returns the status and the body, or an error when
// the server did not answer.
func get(client *http.Client, u string) (int, []byte, error) {
	resp, err := client.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// ---- Jaeger -----------------------------------------------------------------

// jaegerServer is a Jaeger v2 running lab/jaeger/config.yaml on loopback.
type jaegerServer struct {
	OTLP    string // base URL of the OTLP/HTTP receiver
	Query   string // base URL of the query service's HTTP API
	Health  string // URL of the health check
	Metrics string // URL of Jaeger's own metrics
	ports   []int  // every port the configuration names
	ready   time.Duration
	pid     int
	client  *http.Client
}

// startJaeger runs Jaeger with config on free loopback ports, waits for
// its health check and stops it when the test ends.
func startJaeger(t *testing.T, bin, config string) *jaegerServer {
	t.Helper()
	return launch(t, func() (*jaegerServer, error) { return launchJaeger(t, bin, config) })
}

func launchJaeger(t *testing.T, bin, config string) (*jaegerServer, error) {
	t.Helper()
	ports := freePorts(t, 5)
	base := func(i int) string { return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])) }
	j := &jaegerServer{
		OTLP:    base(0),
		Query:   base(1),
		Health:  base(3) + "/status",
		Metrics: base(4) + "/metrics",
		ports:   ports,
		client:  &http.Client{Timeout: waitLimit},
	}
	t.Cleanup(j.client.CloseIdleConnections)
	cmd := exec.Command(bin, "--config", config)
	// Only the ports: none of the test's OTEL_* variables reaches Jaeger.
	cmd.Env = []string{
		"JAEGER_OTLP_HTTP_PORT=" + strconv.Itoa(ports[0]),
		"JAEGER_QUERY_HTTP_PORT=" + strconv.Itoa(ports[1]),
		"JAEGER_QUERY_GRPC_PORT=" + strconv.Itoa(ports[2]),
		"JAEGER_HEALTH_PORT=" + strconv.Itoa(ports[3]),
		"JAEGER_METRICS_PORT=" + strconv.Itoa(ports[4]),
	}
	start := time.Now()
	proc := testkit.StartProcess(t, cmd)
	j.pid = cmd.Process.Pid
	if err := waitReady(proc, "jaeger", func() bool {
		status, _, err := get(j.client, j.Health)
		return err == nil && status == http.StatusOK
	}); err != nil {
		return nil, err
	}
	j.ready = time.Since(start)
	return j, nil
}

// trace returns the trace traceID from Jaeger's API v3, or false when
// Jaeger answers that it has none.
func (j *jaegerServer) trace(t *testing.T, traceID string) (otlpTrace, bool) {
	t.Helper()
	u := j.Query + "/api/v3/traces/" + traceID
	status, body, err := get(j.client, u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	var tr otlpTrace
	switch {
	case status == http.StatusNotFound:
		return tr, false
	case status != http.StatusOK:
		t.Fatalf("GET %s: status %d: %.500s", u, status, body)
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("GET %s: %v: %.500s", u, err, body)
	}
	return tr, true
}

// ---- Prometheus ---------------------------------------------------------------

// promServer is a Prometheus server running on loopback.
type promServer struct {
	URL    string // http://127.0.0.1:port
	client *http.Client
}

// prometheusConfig writes a prometheus.yml (JSON, which is YAML) that
// scrapes the targets that the file targets names every second, and
// returns its path.
func prometheusConfig(t *testing.T, targets string) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"global": map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s"},
		"scrape_configs": []any{map[string]any{
			"job_name":        job,
			"metrics_path":    "/metrics",
			"file_sd_configs": []any{map[string]any{"files": []string{targets}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeTargets writes the targets file that Prometheus watches: one target
// for each role, labelled with it. An empty path makes a new file in a
// temporary directory. It writes a temporary file and renames it, so that
// Prometheus never reads half of it, and returns the path.
func writeTargets(t *testing.T, path string, roles map[string]string) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "targets.json")
	}
	groups := []any{}
	for role, addr := range roles {
		groups = append(groups, map[string]any{"targets": []string{addr}, "labels": map[string]string{"role": role}})
	}
	data, err := json.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	return path
}

// startPrometheus runs Prometheus with config and exemplar storage on a
// free loopback port, waits until it is ready and stops it when the test
// ends.
func startPrometheus(t *testing.T, bin, config string) *promServer {
	t.Helper()
	return launch(t, func() (*promServer, error) { return launchPrometheus(t, bin, config) })
}

func launchPrometheus(t *testing.T, bin, config string) (*promServer, error) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePorts(t, 1)[0]))
	p := &promServer{URL: "http://" + addr, client: &http.Client{Timeout: waitLimit}}
	t.Cleanup(p.client.CloseIdleConnections)
	proc := testkit.StartProcess(t, exec.Command(bin,
		"--config.file="+config,
		"--storage.tsdb.path="+t.TempDir(),
		"--web.listen-address="+addr,
		"--enable-feature=exemplar-storage",
	))
	if err := waitReady(proc, "prometheus", func() bool {
		status, _, err := get(p.client, p.URL+"/-/ready")
		return err == nil && status == http.StatusOK
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// api calls GET path of the Prometheus HTTP API and decodes the answer's
// data into data; anything but a "success" fails t.
func (p *promServer) api(t *testing.T, path string, params url.Values, data any) {
	t.Helper()
	u := p.URL + path + "?" + params.Encode()
	status, body, err := get(p.client, u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	var answer struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Status != "success" {
		t.Fatalf("GET %s: status %d, %v: %.500s", u, status, err, body)
	}
	if err := json.Unmarshal(answer.Data, data); err != nil {
		t.Fatalf("GET %s: data: %v: %.500s", u, err, answer.Data)
	}
}

// acceptProbe is a scrape target that records the Accept header that
// Prometheus scrapes with.
type acceptProbe struct {
	addr   string // host:port
	mu     sync.Mutex
	accept string
}

func newAcceptProbe(t *testing.T) *acceptProbe {
	t.Helper()
	p := &acceptProbe{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.accept = r.Header.Get("Accept")
		p.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = io.WriteString(w, "# TYPE tracecheck_probe gauge\ntracecheck_probe 1\n")
	}))
	t.Cleanup(srv.Close)
	p.addr = srv.Listener.Addr().String()
	return p
}

// waitAccept waits for Prometheus' first scrape and returns its Accept
// header.
func (p *acceptProbe) waitAccept(t *testing.T) string {
	t.Helper()
	var accept string
	testkit.Until(t, "a scrape of the probe target", waitLimit, pollTick, func() (bool, string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		accept = p.accept
		return accept != "", "no scrape yet"
	})
	return accept
}
