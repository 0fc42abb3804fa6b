package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ginstarter/ginstarter/internal/testlog"
	"github.com/ginstarter/ginstarter/internal/testwait"
)

// waitLimit bounds every wait for something to happen: it only fails a hung
// test, it measures nothing. Generous, because the machine may be busy.
const waitLimit = 30 * time.Second

// modulePath is the module whose binary the tests build.
const modulePath = "github.com/ginstarter/ginstarter"

// moduleRoot returns the directory of the main module's go.mod, above the
// test's working directory.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module "+modulePath+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no go.mod of %s above the working directory", modulePath)
		}
		dir = parent
	}
}

// eventually calls cond every tick until it reports true, and fails tb when
// that has not happened within waitLimit.
func eventually(tb testing.TB, what string, tick time.Duration, cond func() (bool, string)) {
	tb.Helper()
	testwait.Until(tb, what, waitLimit, tick, cond)
}

// process is a started command whose end is awaited in the background.
type process struct {
	cmd  *exec.Cmd
	logs *testlog.Buffer
	done chan struct{} // closed when the process has ended
	err  error         // what Wait returned; read after done is closed
}

// startProcess starts cmd with its stdout and stderr in a testlog.Buffer.
func startProcess(tb testing.TB, cmd *exec.Cmd) *process {
	tb.Helper()
	p := &process{cmd: cmd, logs: new(testlog.Buffer), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		defer close(p.done)
		p.err = cmd.Wait()
	}()
	return p
}

// stop sends SIGTERM and waits for the process to end, killing it when it
// has not ended within waitLimit. It returns what Wait returned.
func (p *process) stop(tb testing.TB) error {
	tb.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(waitLimit):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s did not end within %v of SIGTERM; killed", filepath.Base(p.cmd.Path), waitLimit)
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// service is the service's binary, running.
type service struct {
	HTTP, Admin string // host:port of the public and the admin listener
	proc        *process
}

// buildService builds the service's binary from the module at root and
// returns its path.
func buildService(tb testing.TB, root string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "svc")
	cmd := exec.Command("go", "build", "-o", bin, modulePath)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", modulePath, err, out)
	}
	return bin
}

// startService runs bin with the demo endpoints on loopback ports the kernel
// chooses, waits for its "serving" log line and stops it when the test ends.
// The environment is only what is set here, and the working directory an
// empty one, so that no .env or outer variable changes the configuration.
func startService(tb testing.TB, bin string) *service {
	tb.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = tb.TempDir()
	cmd.Env = []string{
		"DEMO_ENDPOINTS=true",
		"HTTP_ADDR=127.0.0.1:0",
		"ADMIN_ADDR=127.0.0.1:0",
		"SHUTDOWN_DRAIN_DELAY=0s",
		"SHUTDOWN_TIMEOUT=5s",
		"LOG_FORMAT=json",
	}
	s := &service{proc: startProcess(tb, cmd)}
	tb.Cleanup(func() {
		if err := s.proc.stop(tb); err != nil {
			tb.Errorf("the service did not shut down cleanly on SIGTERM: %v; its log:\n%s", err, s.proc.logs)
		}
	})
	eventually(tb, "the service's serving log line", 10*time.Millisecond, func() (bool, string) {
		if s.proc.exited() {
			tb.Fatalf("the service ended before serving (%v); its log:\n%s", s.proc.err, s.proc.logs)
		}
		l, ok := s.proc.logs.Find("serving")
		if !ok {
			return false, s.proc.logs.String()
		}
		s.HTTP, s.Admin = l.Get("http_addr"), l.Get("admin_addr")
		return s.HTTP != "" && s.Admin != "", fmt.Sprint(l)
	})
	return s
}

// URL returns the address of path on the public listener.
func (s *service) URL(path string) string { return "http://" + s.HTTP + path }

// promServer is a Prometheus server running on loopback.
type promServer struct {
	URL    string // http://127.0.0.1:port
	proc   *process
	client *http.Client
}

// errPortTaken is what launchPrometheus returns when another process took
// the port between freePort and Prometheus' listen.
var errPortTaken = errors.New("port taken")

// startPrometheus runs the prometheus binary bin with the configuration
// file config on a free loopback port, waits until it is ready and stops it
// when the test ends.
func startPrometheus(tb testing.TB, bin, config string) *promServer {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		p, err := launchPrometheus(tb, bin, config, freePort(tb))
		if err == nil {
			return p
		}
		if attempt == 3 || !errors.Is(err, errPortTaken) {
			tb.Fatal(err)
		}
	}
}

func launchPrometheus(tb testing.TB, bin, config string, port int) (*promServer, error) {
	tb.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--config.file="+config,
		"--storage.tsdb.path="+tb.TempDir(),
		"--web.listen-address="+addr,
		"--web.enable-lifecycle",
	)
	p := &promServer{
		URL:    "http://" + addr,
		proc:   startProcess(tb, cmd),
		client: &http.Client{Timeout: waitLimit},
	}
	deadline := time.Now().Add(waitLimit)
	for !p.ready() {
		if p.proc.exited() {
			if strings.Contains(p.proc.logs.String(), "address already in use") {
				return nil, fmt.Errorf("prometheus on %s: %w", addr, errPortTaken)
			}
			return nil, fmt.Errorf("prometheus ended before it was ready (%w); its log:\n%s", p.proc.err, p.proc.logs)
		}
		if time.Now().After(deadline) {
			_ = p.proc.stop(tb)
			return nil, fmt.Errorf("prometheus not ready within %v; its log:\n%s", waitLimit, p.proc.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Cleanup(func() {
		if err := p.proc.stop(tb); err != nil {
			tb.Errorf("stopping prometheus: %v", err)
		}
		p.client.CloseIdleConnections()
	})
	return p, nil
}

// ready reports whether Prometheus answers 200 on /-/ready.
func (p *promServer) ready() bool {
	resp, err := p.client.Get(p.URL + "/-/ready")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		tb.Fatalf("listener address %v is a %T, want *net.TCPAddr", ln.Addr(), ln.Addr())
	}
	return addr.Port
}

// writeYAML writes v as YAML to name in a fresh temporary directory and
// returns the file's path.
func writeYAML(tb testing.TB, name string, v any) string {
	tb.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// apiError is an answer of the Prometheus HTTP API with status "error".
type apiError struct {
	Type, Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// api calls GET path of the Prometheus HTTP API and decodes the answer's
// data into data. A status "error" is returned as an *apiError; failing to
// reach Prometheus or to read its answer fails tb.
func (p *promServer) api(tb testing.TB, path string, params url.Values, data any) error {
	tb.Helper()
	u := p.URL + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	resp, err := p.client.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	var answer struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		tb.Fatalf("GET %s: status %d, not the API's JSON (%v): %.500s", u, resp.StatusCode, err, body)
	}
	if answer.Status != "success" {
		return &apiError{Type: answer.ErrorType, Message: answer.Error}
	}
	if err := json.Unmarshal(answer.Data, data); err != nil {
		tb.Fatalf("GET %s: data: %v: %.500s", u, err, answer.Data)
	}
	return nil
}

// sample is one element of an instant query's result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value"]
}

// Float returns the sample's value; "NaN" and "+Inf" parse too.
func (s sample) Float() float64 {
	v, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return -1
	}
	return f
}

func (s sample) String() string {
	return fmt.Sprintf("%v => %v", s.Metric, s.Value[1])
}

// query evaluates expr at the current time with /api/v1/query and returns
// the result as samples: a vector's elements, or a scalar as one sample
// without labels.
func (p *promServer) query(tb testing.TB, expr string) ([]sample, error) {
	tb.Helper()
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.api(tb, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	var samples []sample
	switch data.ResultType {
	case "vector":
		if err := json.Unmarshal(data.Result, &samples); err != nil {
			tb.Fatalf("query %q: %v", expr, err)
		}
	case "scalar", "string":
		var s sample
		if err := json.Unmarshal(data.Result, &s.Value); err != nil {
			tb.Fatalf("query %q: %v", expr, err)
		}
		samples = []sample{s}
	default:
		return nil, fmt.Errorf("query %q: result type %q, want vector or scalar", expr, data.ResultType)
	}
	return samples, nil
}

// mustQuery is query for expressions that have to evaluate: an error
// fails tb.
func (p *promServer) mustQuery(tb testing.TB, expr string) []sample {
	tb.Helper()
	samples, err := p.query(tb, expr)
	if err != nil {
		tb.Fatalf("query %q: %v", expr, err)
	}
	return samples
}
