// Package tracecheck runs the service's binary with tracing on next to a
// real Jaeger v2 (built by lab/jaeger/build) and a real Prometheus server,
// all on 127.0.0.1, and follows one request from the traceparent header it
// was sent with to the span that Jaeger stores, the exemplar that
// Prometheus stores and the access log line: all three must name the
// caller's trace and the service's server span. A second service without
// an OTLP endpoint answers the same request, and none of it reaches Jaeger
// or Prometheus: the checks can fail.
package tracecheck

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// TestMain removes the service's binary that the test built.
func TestMain(m *testing.M) {
	os.Exit(testkit.WithBinary(m).Run())
}

const (
	// waitLimit bounds every wait: it only fails a hung test, it measures
	// nothing.
	waitLimit = 30 * time.Second
	// pollTick is how often the test asks Jaeger, Prometheus or a log again.
	pollTick = 100 * time.Millisecond

	route       = "/v1/items/:id"
	spanName    = http.MethodGet + " " + route
	serviceName = "ginstarter-tracecheck"
)

func TestTraceReachesJaegerAndExemplarReachesPrometheus(t *testing.T) {
	began := time.Now()
	jaegerBin := jaegerBinary(t)
	promBin := prometheusBinary(t)
	jaegerConfig := absPath(t, "../jaeger/config.yaml")
	serviceRoot := serviceModuleDir(t)

	// Prometheus first: it hands what target discovery finds to its
	// scrapers only every 5 s, so it starts watching a file that names no
	// target yet, and that wait runs while everything else starts.
	probe := newAcceptProbe(t)
	targets := writeTargets(t, "", nil)
	prom := startPrometheus(t, promBin, prometheusConfig(t, targets))
	jaeger := startJaeger(t, jaegerBin, jaegerConfig)
	t.Logf("jaeger %s: OTLP/HTTP %s, query %s, health %s, metrics %s (ready after %v)",
		jaegerBin, jaeger.OTLP, jaeger.Query, jaeger.Health, jaeger.Metrics, jaeger.ready.Round(time.Millisecond))

	// testkit builds the main package of the module that the test runs in;
	// the service's is the one this module replaces.
	t.Chdir(serviceRoot)
	common := []string{"LOG_LEVEL=info", "LOG_FORMAT=json", "SHUTDOWN_DRAIN_DELAY=0s", "OTEL_SERVICE_NAME=" + serviceName}
	serviceStart := time.Now()
	traced := testkit.StartService(t, "", append(common,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+jaeger.OTLP, "OTEL_BSP_SCHEDULE_DELAY=100")...)
	control := testkit.StartService(t, "", common...)
	for _, s := range []struct {
		p    *testkit.Process
		want string
	}{{traced, "true"}, {control, "false"}} {
		if l, _ := s.p.Stdout.Find("serving"); l.Get("tracing") != s.want {
			t.Fatalf("serving line %v: tracing %q, want %s", l, l.Get("tracing"), s.want)
		}
	}
	t.Logf("services built and serving after %v: traced on %s (admin %s), control without OTLP endpoint on %s (admin %s)",
		time.Since(serviceStart).Round(time.Millisecond), traced.HTTP, traced.Admin, control.HTTP, control.Admin)
	writeTargets(t, targets, map[string]string{"traced": traced.Admin, "control": control.Admin, "probe": probe.addr})

	client := &http.Client{Timeout: waitLimit}
	t.Cleanup(client.CloseIdleConnections)
	tracedPath := "/v1/items/" + createItem(t, client, traced)
	controlPath := "/v1/items/" + createItem(t, client, control)

	sent, ctl := newTraceparent(t), newTraceparent(t)
	// The control request goes first: once the traced request's span is in
	// Jaeger, the control's would be there too, had it been exported.
	getWithTraceparent(t, client, control.URL(controlPath), ctl)
	sentAt := time.Now()
	getWithTraceparent(t, client, traced.URL(tracedPath), sent)
	t.Logf("sent GET %s with traceparent %s", tracedPath, sent)

	// Jaeger holds the server span, a child of the caller's span.
	var trace otlpTrace
	testkit.Until(t, "trace "+sent.traceID+" in Jaeger", waitLimit, pollTick, func() (bool, string) {
		var found bool
		trace, found = jaeger.trace(t, sent.traceID)
		return found, "not found"
	})
	inJaeger := time.Since(sentAt)
	span := serverSpan(t, trace, sent, tracedPath)
	t.Logf("jaeger, %v after the request: server span %v", inJaeger.Round(time.Millisecond), span)

	// The access log line names the caller's trace and the server span.
	line := accessLine(t, traced, tracedPath)
	inLog := time.Since(sentAt)
	for key, want := range map[string]string{"trace_id": sent.traceID, "span_id": span.SpanID, "route": route, "status": "200", "request_id": span.attr("http.request.id")} {
		if got := line.Get(key); got != want {
			t.Errorf("access log line %v: %s %q, want %q", line, key, got, want)
		}
	}
	t.Logf("access log, %v after the request: %s", inLog.Round(time.Millisecond), logLine(t, traced, tracedPath))

	// Prometheus asks for OpenMetrics, the one text format with exemplars,
	// and the service answers it with the exemplar of the request's bucket.
	accept := probe.waitAccept(t)
	if !strings.HasPrefix(accept, "application/openmetrics-text") {
		t.Errorf("Prometheus scrapes with Accept %q, want application/openmetrics-text first: no exemplar would reach it", accept)
	}
	contentType, exposition := scrape(t, client, "http://"+traced.Admin+"/metrics", accept, sent.traceID)
	t.Logf("prometheus scrapes with Accept: %s; the service answers Content-Type %s with: %s",
		accept, contentType, exposition)
	if !strings.HasPrefix(contentType, "application/openmetrics-text") || !strings.Contains(exposition, sent.traceID) {
		t.Errorf("the service's /metrics, asked for %q, answers %s without an exemplar of trace %s", accept, contentType, sent.traceID)
	}

	// Prometheus stores the exemplar, linked to the same span.
	exemplarsQuery := `http_server_request_duration_seconds_bucket{job="` + job + `", http_route="` + route + `"}`
	var ex exemplar
	testkit.Until(t, "exemplar of trace "+sent.traceID+" in Prometheus", waitLimit, pollTick, func() (bool, string) {
		all := prom.exemplars(t, exemplarsQuery, began)
		var ok bool
		ex, ok = findExemplar(all, sent.traceID)
		return ok, fmt.Sprint(all)
	})
	inProm := time.Since(sentAt)
	if ex.Labels["span_id"] != span.SpanID {
		t.Errorf("exemplar %v: span_id %q, want the server span's %s", ex, ex.Labels["span_id"], span.SpanID)
	}
	if ex.series["role"] != "traced" || ex.series["http_request_method"] != http.MethodGet || ex.series["http_response_status_code"] != "200" {
		t.Errorf("exemplar %v of series %v, want the traced service's GET %s with status 200", ex, ex.series, route)
	}
	t.Logf("prometheus, %v after the request: exemplar %v value %s at %s on series %v",
		inProm.Round(time.Millisecond), ex.Labels, ex.Value, ex.time().Format(time.RFC3339Nano), ex.series)

	// The control: the same request to the service without an OTLP
	// endpoint. Its log line still names the caller's trace, but the
	// caller's span, since no server span exists; Jaeger has no trace of
	// it, and Prometheus, having scraped the request's observation, no
	// exemplar of it.
	ctlLine := accessLine(t, control, controlPath)
	if ctlLine.Get("trace_id") != ctl.traceID || ctlLine.Get("span_id") != ctl.parentID {
		t.Errorf("control access log line %v: trace_id %q span_id %q, want the caller's %s and %s",
			ctlLine, ctlLine.Get("trace_id"), ctlLine.Get("span_id"), ctl.traceID, ctl.parentID)
	}
	if _, found := jaeger.trace(t, ctl.traceID); found {
		t.Errorf("Jaeger holds trace %s of the control request, sent to the service without an OTLP endpoint", ctl.traceID)
	}
	controlCount := `sum(http_server_request_duration_seconds_count{job="` + job + `", role="control", http_route="` + route + `"})`
	testkit.Until(t, "Prometheus scrapes the control's request", waitLimit, pollTick, func() (bool, string) {
		got := prom.query(t, controlCount)
		return got == "1", "value " + got
	})
	all := prom.exemplars(t, exemplarsQuery, began)
	if e, ok := findExemplar(all, ctl.traceID); ok {
		t.Errorf("Prometheus holds exemplar %v of the control request, sent to the service without tracing", e)
	}
	for _, s := range all {
		if s.SeriesLabels["role"] != "traced" {
			t.Errorf("Prometheus holds exemplars of series %v, want only the traced service's", s.SeriesLabels)
		}
	}
	t.Logf("control, traceparent %s: Jaeger answers not found for trace %s; Prometheus has scraped %s = 1 and holds no exemplar of it (%d series with exemplars, all the traced service's); its access log line: %s",
		ctl, ctl.traceID, controlCount, len(all), logLine(t, control, controlPath))

	checkLoopbackOnly(t, jaeger)
	t.Logf("done in %v", time.Since(began).Round(time.Millisecond))
}

// traceparent is a W3C traceparent header's trace and parent span.
type traceparent struct {
	traceID, parentID string
}

// newTraceparent returns a random sampled trace and parent span.
func newTraceparent(t *testing.T) traceparent {
	t.Helper()
	return traceparent{traceID: randomHex(t, 16), parentID: randomHex(t, 8)}
}

func (p traceparent) String() string { return "00-" + p.traceID + "-" + p.parentID + "-01" }

// randomHex returns n random bytes in hex; all zeros is not a valid ID.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	for bytes.Count(b, []byte{0}) == n {
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(b)
}

// createItem creates an item on the service and returns its ID.
func createItem(t *testing.T, client *http.Client, svc *testkit.Process) string {
	t.Helper()
	resp, err := client.Post(svc.URL("/v1/items"), "application/json", strings.NewReader(`{"name":"tracecheck"}`))
	if err != nil {
		t.Fatalf("POST /v1/items: %v", err)
	}
	defer resp.Body.Close()
	var item struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&item); err != nil || resp.StatusCode != http.StatusCreated || item.ID == "" {
		t.Fatalf("POST /v1/items: status %d, item %+v, %v; want 201 and an item", resp.StatusCode, item, err)
	}
	return item.ID
}

// getWithTraceparent sends GET url with the traceparent header tp and
// checks the 200.
func getWithTraceparent(t *testing.T, client *http.Client, u string, tp traceparent) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", tp.String())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", u, resp.StatusCode)
	}
}

// accessLine waits for the access log line of GET path in the service's
// stdout.
func accessLine(t *testing.T, svc *testkit.Process, path string) testkit.LogLine {
	t.Helper()
	var line testkit.LogLine
	testkit.Until(t, "access log line of GET "+path, waitLimit, pollTick, func() (bool, string) {
		s := logLine(t, svc, path)
		line = testkit.ParseLogLine(s)
		return s != "", "log so far:\n" + svc.Stdout.String()
	})
	return line
}

// logLine returns the access log line of GET path as the service wrote it,
// or "".
func logLine(t *testing.T, svc *testkit.Process, path string) string {
	t.Helper()
	for _, s := range svc.Stdout.Lines() {
		l := testkit.ParseLogLine(s)
		if l.Get("msg") == "request" && l.Get("method") == http.MethodGet && l.Get("path") == path {
			return s
		}
	}
	return ""
}

// scrape sends GET u with the Accept header accept and returns the
// answer's Content-Type and its lines that carry an exemplar of traceID.
func scrape(t *testing.T, client *http.Client, u, accept, traceID string) (contentType, exemplarLines string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v", u, resp.StatusCode, err)
	}
	var lines []string
	for l := range strings.Lines(string(body)) {
		if _, ex, ok := strings.Cut(l, " # {"); ok && strings.Contains(ex, `trace_id="`+traceID+`"`) {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return resp.Header.Get("Content-Type"), strings.Join(lines, "; ")
}

// otlpTrace is the answer of Jaeger's GET /api/v3/traces/{trace_id}: the
// trace as OTLP JSON.
type otlpTrace struct {
	Result struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []otlpAttribute `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Spans []otlpSpan `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	} `json:"result"`
}

type otlpSpan struct {
	TraceID      string          `json:"traceId"`
	SpanID       string          `json:"spanId"`
	ParentSpanID string          `json:"parentSpanId"`
	Name         string          `json:"name"`
	Kind         json.RawMessage `json:"kind"`
	Attributes   []otlpAttribute `json:"attributes"`

	service string // the service.name of its resource
}

type otlpAttribute struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpValue struct {
	StringValue *string         `json:"stringValue"`
	IntValue    json.RawMessage `json:"intValue"` // "200": int64 in proto JSON is a string
	ArrayValue  *struct {
		Values []otlpValue `json:"values"`
	} `json:"arrayValue"`
}

// String returns a string, an integer or an array of them as text.
func (v otlpValue) String() string {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.IntValue != nil:
		return strings.Trim(string(v.IntValue), `"`)
	case v.ArrayValue != nil:
		var values []string
		for _, e := range v.ArrayValue.Values {
			values = append(values, strconv.Quote(e.String()))
		}
		return "[" + strings.Join(values, ", ") + "]"
	}
	return ""
}

func (s otlpSpan) String() string {
	attrs := make([]string, 0, len(s.Attributes))
	for _, a := range s.Attributes {
		attrs = append(attrs, a.Key+"="+a.Value.String())
	}
	return fmt.Sprintf("{%q kind %s, trace %s, span %s, parent %s, service.name %q, %s}",
		s.Name, s.kind(), s.TraceID, s.SpanID, s.ParentSpanID, s.service, strings.Join(attrs, " "))
}

// attr returns the value of the span's attribute key as a string, or "".
func (s otlpSpan) attr(key string) string { return attribute(s.Attributes, key) }

func attribute(attrs []otlpAttribute, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// kind returns the span's kind by name: OTLP JSON has the enum's number
// (2 for a server span), or its name.
func (s otlpSpan) kind() string {
	switch k := strings.Trim(string(s.Kind), `"`); k {
	case "1", "SPAN_KIND_INTERNAL":
		return "internal"
	case "2", "SPAN_KIND_SERVER":
		return "server"
	case "3", "SPAN_KIND_CLIENT":
		return "client"
	default:
		return k
	}
}

// serverSpan returns the one server span of trace and checks it against
// the request GET path that the caller tp sent.
func serverSpan(t *testing.T, trace otlpTrace, tp traceparent, path string) otlpSpan {
	t.Helper()
	var servers, all []otlpSpan
	for _, rs := range trace.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				s.service = attribute(rs.Resource.Attributes, "service.name")
				all = append(all, s)
				if s.kind() == "server" {
					servers = append(servers, s)
				}
			}
		}
	}
	if len(servers) != 1 {
		t.Fatalf("trace %s holds %d server spans, want 1: %v", tp.traceID, len(servers), all)
	}
	s := servers[0]
	for _, c := range []struct{ what, got, want string }{
		{"name", s.Name, spanName},
		{"trace ID", s.TraceID, tp.traceID},
		{"parent span ID", s.ParentSpanID, tp.parentID},
		{"service.name", s.service, serviceName},
		{"http.route", s.attr("http.route"), route},
		{"http.response.status_code", s.attr("http.response.status_code"), "200"},
		{"http.request.method", s.attr("http.request.method"), http.MethodGet},
		{"url.path", s.attr("url.path"), path},
	} {
		if c.got != c.want {
			t.Errorf("server span %v: %s %q, want %q", s, c.what, c.got, c.want)
		}
	}
	if len(s.SpanID) != 16 || s.SpanID == tp.parentID {
		t.Errorf("server span ID %q, want 16 hex digits of a span of its own", s.SpanID)
	}
	return s
}

// exemplarSeries is one element of Prometheus' /api/v1/query_exemplars.
type exemplarSeries struct {
	SeriesLabels map[string]string `json:"seriesLabels"`
	Exemplars    []exemplar        `json:"exemplars"`
}

func (s exemplarSeries) String() string { return fmt.Sprintf("%v: %v", s.SeriesLabels, s.Exemplars) }

type exemplar struct {
	Labels    map[string]string `json:"labels"`
	Value     string            `json:"value"`
	Timestamp float64           `json:"timestamp"` // Unix seconds

	series map[string]string
}

func (e exemplar) time() time.Time {
	return time.UnixMilli(int64(e.Timestamp * 1000))
}

// findExemplar returns the exemplar of traceID in all, with its series.
func findExemplar(all []exemplarSeries, traceID string) (exemplar, bool) {
	for _, s := range all {
		for _, e := range s.Exemplars {
			if e.Labels["trace_id"] == traceID {
				e.series = s.SeriesLabels
				return e, true
			}
		}
	}
	return exemplar{}, false
}

// exemplars returns the exemplars of the series that query selects, from
// since until a minute from now.
func (p *promServer) exemplars(t *testing.T, query string, since time.Time) []exemplarSeries {
	t.Helper()
	var all []exemplarSeries
	p.api(t, "/api/v1/query_exemplars", url.Values{
		"query": {query},
		"start": {strconv.FormatInt(since.Add(-time.Minute).Unix(), 10)},
		"end":   {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)},
	}, &all)
	return all
}

// query evaluates expr, which must return at most one sample, and returns
// its value, or "" when it returns none.
func (p *promServer) query(t *testing.T, expr string) string {
	t.Helper()
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	p.api(t, "/api/v1/query", url.Values{"query": {expr}}, &data)
	switch len(data.Result) {
	case 0:
		return ""
	case 1:
		return fmt.Sprint(data.Result[0].Value[1])
	}
	t.Fatalf("query %s: %d samples, want at most 1", expr, len(data.Result))
	return ""
}
