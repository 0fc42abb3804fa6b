package e2e

import (
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
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// TestMain removes the binary that the tests built.
func TestMain(m *testing.M) {
	os.Exit(testkit.WithBinary(m).Run())
}

// waitLimit bounds every wait for something to happen: it only fails a hung
// test, it measures nothing. Generous, because the machine may be busy.
const waitLimit = 30 * time.Second

// eventually asks cond every promTick until it reports true, and fails tb
// when that has not happened within waitLimit.
func eventually(tb testing.TB, what string, cond func() (bool, string)) {
	tb.Helper()
	testkit.Until(tb, what, waitLimit, promTick, cond)
}

// promServer is a Prometheus server running on loopback.
type promServer struct {
	URL    string // http://127.0.0.1:port
	proc   *testkit.Process
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
		proc:   testkit.StartProcess(tb, cmd),
		client: &http.Client{Timeout: waitLimit},
	}
	tb.Cleanup(p.client.CloseIdleConnections)
	deadline := time.Now().Add(waitLimit)
	for !p.ready() {
		if p.proc.Exited() {
			if strings.Contains(p.proc.Stderr.String(), "address already in use") {
				return nil, fmt.Errorf("prometheus on %s: %w", addr, errPortTaken)
			}
			return nil, fmt.Errorf("prometheus ended before it was ready (%v); its log:\n%s", p.proc.Wait(tb), p.proc.Stderr)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("prometheus not ready within %v; its log:\n%s", waitLimit, p.proc.Stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
