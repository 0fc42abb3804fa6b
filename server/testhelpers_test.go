package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/internal/testlog"
	"github.com/ginstarter/ginstarter/internal/testmetrics"
	"github.com/ginstarter/ginstarter/internal/testwait"
)

// waitLimit bounds every wait of the end-to-end tests. It is an upper bound
// that fails a hung test, never a measure of speed.
const waitLimit = 10 * time.Second

// Names of the metrics the tests read.
const (
	durationMetric = "http_server_request_duration_seconds"
	activeMetric   = "http_server_active_requests"
	panicsMetric   = "http_server_panics_total"
)

// eventually calls cond until it reports true and fails tb when that has
// not happened within waitLimit.
func eventually(tb testing.TB, what string, cond func() (bool, string)) {
	tb.Helper()
	testwait.Until(tb, what, waitLimit, 10*time.Millisecond, cond)
}

// waitServing waits for the "serving" log line in logs and returns the
// addresses it names. It fails tb when done is closed first (the program
// ended) or after waitLimit.
func waitServing(tb testing.TB, logs *testlog.Buffer, done <-chan struct{}) (httpAddr, adminAddr string) {
	tb.Helper()
	eventually(tb, "the serving log line", func() (bool, string) {
		if l, ok := logs.Find("serving"); ok {
			httpAddr, adminAddr = l.Get("http_addr"), l.Get("admin_addr")
			return true, ""
		}
		select {
		case <-done:
			tb.Fatalf("the service ended before serving; its log:\n%s", logs)
		default:
		}
		return false, "log so far:\n" + logs.String()
	})
	return httpAddr, adminAddr
}

// service is one run of the program in this process.
type service struct {
	HTTP, Admin string // host:port of the public and the admin listener
	Logs        *testlog.Buffer

	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	err    error         // what run returned; read after done is closed
	once   sync.Once
}

// launchService calls run in a goroutine with env over defaults that listen
// on loopback ports chosen by the kernel and shut down without delay. It
// does not wait for the service to serve: see waitServing.
func launchService(tb testing.TB, env map[string]string) *service {
	tb.Helper()
	return launchServiceLogging(tb, env, 0)
}

// launchServiceLogging is launchService keeping only the first maxLog bytes
// of the log in Logs (all of it when maxLog is 0), for tests whose requests
// log far more than the test reads.
func launchServiceLogging(tb testing.TB, env map[string]string, maxLog int) *service {
	tb.Helper()
	vars := map[string]string{
		"HTTP_ADDR":            "127.0.0.1:0",
		"ADMIN_ADDR":           "127.0.0.1:0",
		"SHUTDOWN_DRAIN_DELAY": "0s",
		"SHUTDOWN_TIMEOUT":     "5s",
	}
	maps.Copy(vars, env)
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{Logs: new(testlog.Buffer), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var stdout io.Writer = s.Logs
		if maxLog > 0 {
			stdout = &cappedWriter{w: s.Logs, max: maxLog}
		}
		s.err = Run(ctx, buildinfo.New("", ""), func(k string) string { return vars[k] }, stdout)
	}()
	tb.Cleanup(func() { s.Stop(tb) })
	return s
}

// cappedWriter passes whole writes on to w until max bytes have gone
// through, and drops the rest.
type cappedWriter struct {
	mu   sync.Mutex
	w    io.Writer
	max  int
	sent int
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent+len(p) > c.max {
		c.sent = c.max
		return len(p), nil
	}
	c.sent += len(p)
	return c.w.Write(p)
}

// accessLog waits for the access log line of the request with requestID
// (it is written after the response) and returns it.
func accessLog(tb testing.TB, logs *testlog.Buffer, requestID string) testlog.Line {
	tb.Helper()
	var found testlog.Line
	eventually(tb, "the access log line of "+requestID, func() (bool, string) {
		for _, s := range logs.Lines() {
			if l := testlog.Parse(s); l.Get("msg") == "request" && l.Get("request_id") == requestID {
				found = l
				return true, ""
			}
		}
		return false, "no line"
	})
	return found
}

// waitServing waits until s serves and records its addresses.
func (s *service) waitServing(tb testing.TB) {
	tb.Helper()
	s.HTTP, s.Admin = waitServing(tb, s.Logs, s.done)
}

// startService starts the program with env (see launchService) and waits
// until it serves. It is stopped when the test ends, if not before.
func startService(tb testing.TB, env map[string]string) *service {
	tb.Helper()
	return startServiceLogging(tb, env, 0)
}

// startServiceLogging is startService keeping only the first maxLog bytes
// of the log (see launchServiceLogging).
func startServiceLogging(tb testing.TB, env map[string]string, maxLog int) *service {
	tb.Helper()
	s := launchServiceLogging(tb, env, maxLog)
	s.waitServing(tb)
	return s
}

// Stop cancels the context of run, waits for run to return and fails tb
// unless it returned nil. Only the first call does anything.
func (s *service) Stop(tb testing.TB) {
	tb.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case <-s.done:
			if s.err != nil {
				tb.Errorf("run returned %v, want nil", s.err)
			}
		case <-time.After(2 * waitLimit):
			tb.Errorf("run did not return within %v of its context being cancelled", 2*waitLimit)
		}
	})
}

// URL returns the address of path on the public listener.
func (s *service) URL(path string) string { return "http://" + s.HTTP + path }

// newClient returns an HTTP client whose idle connections are closed when
// the test ends, so that no goroutine outlives it. Its timeout only stops a
// hung request.
func newClient(tb testing.TB) *http.Client {
	tb.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 3 * waitLimit}
}

// transport returns the *http.Transport of a client that newClient made.
func transport(tb testing.TB, c *http.Client) *http.Transport {
	tb.Helper()
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		tb.Fatalf("the client's transport is a %T, want *http.Transport", c.Transport)
	}
	return tr
}

// do sends a request and returns the response with its whole body.
func do(tb testing.TB, c *http.Client, method, url string, body io.Reader, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	maps.Copy(req.Header, header)
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, b
}

// get sends a GET and returns its status and body.
func get(tb testing.TB, c *http.Client, url string) (int, []byte) {
	tb.Helper()
	resp, body := do(tb, c, http.MethodGet, url, nil, nil)
	return resp.StatusCode, body
}

// errorBody is the JSON error document that every error response carries.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
		Fields    []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// checkError fails tb unless resp is the JSON error with status and code,
// carries the response's request ID and the nosniff header.
func checkError(tb testing.TB, resp *http.Response, body []byte, status int, code string) errorBody {
	tb.Helper()
	var e errorBody
	if resp.StatusCode != status {
		tb.Errorf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		tb.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if err := json.Unmarshal(body, &e); err != nil {
		tb.Fatalf("body is not the JSON error: %v; body %s", err, body)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		tb.Errorf("error code, message = %q, %q; want %q and a message; body %s", e.Error.Code, e.Error.Message, code, body)
	}
	if id := resp.Header.Get("X-Request-ID"); id == "" || e.Error.RequestID != id {
		tb.Errorf("request_id = %q, X-Request-ID = %q; want them equal and not empty", e.Error.RequestID, id)
	}
	return e
}

// scrape reads the admin listener's /metrics and returns it parsed and as
// text.
func scrape(tb testing.TB, c *http.Client, adminAddr string) (map[string]*dto.MetricFamily, string) {
	tb.Helper()
	status, body := get(tb, c, "http://"+adminAddr+"/metrics")
	if status != http.StatusOK {
		tb.Fatalf("GET /metrics: status %d; body %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("parsing /metrics: %v", err)
	}
	return mfs, string(body)
}

// value sums the series of metric name whose labels include want: gauge and
// counter values, histogram sample counts. A missing series counts 0.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range mfs[name].GetMetric() {
		if !testmetrics.HasLabels(m, want) {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// labelValues returns every value that label takes in any family.
func labelValues(mfs map[string]*dto.MetricFamily, label string) map[string]bool {
	vals := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					vals[lp.GetValue()] = true
				}
			}
		}
	}
	return vals
}

// labels builds a label set from name, value pairs.
func labels(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// writeSelfSignedCert writes a certificate for 127.0.0.1 and its key as PEM
// files in dir and returns their paths and a pool that trusts it.
func writeSelfSignedCert(tb testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// holdSleeps sends n requests to the demo sleep that stay in flight until
// the returned release is called, and returns once the service counts all n
// in flight. release makes the clients go away and fails tb unless each of
// them was still waiting for its answer, that is, none was refused.
func holdSleeps(tb testing.TB, svc *service, c *http.Client, n int) (release func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel) // a failed test does not wait for the sleeps
	errs := make(chan error, n)
	for range n {
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, svc.URL(sleepRoute+"?d=30s"), nil)
			if err == nil {
				var resp *http.Response
				if resp, err = c.Do(req); err == nil {
					resp.Body.Close()
					err = fmt.Errorf("answered with status %d while it should be held", resp.StatusCode)
				}
			}
			errs <- err
		}()
	}
	route := labels("http_request_method", "GET", "http_route", sleepRoute)
	eventually(tb, "every held sleep in flight", func() (bool, string) {
		mfs, _ := scrape(tb, c, svc.Admin)
		v := value(mfs, activeMetric, route)
		return v == float64(n), fmt.Sprintf("%s = %v, want %d", activeMetric, v, n)
	})
	return func() {
		tb.Helper()
		cancel()
		for range n {
			if err := <-errs; !errors.Is(err, context.Canceled) {
				tb.Errorf("held request: %v, want it held until its client went away", err)
			}
		}
		eventually(tb, "every held sleep ended", func() (bool, string) {
			mfs, _ := scrape(tb, c, svc.Admin)
			v := value(mfs, activeMetric, route)
			return v == 0, fmt.Sprintf("%s = %v, want 0", activeMetric, v)
		})
	}
}
