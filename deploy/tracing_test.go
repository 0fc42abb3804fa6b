package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
)

// Files of the tracing setup, relative to this directory.
const (
	configEnvFile         = "base/config.env"
	networkPolicyFile     = "base/networkpolicy.yaml"
	datasourcesFile       = "grafana/datasources.yaml"
	serviceMonitorFile    = "components/prometheus-operator/servicemonitor.yaml"
	operatorComponentFile = "components/prometheus-operator/kustomization.yaml"
)

// How Prometheus is made to store exemplars: a command-line flag, or the
// field of the Prometheus Operator's Prometheus object that passes it.
const (
	exemplarStorageFlag     = "--enable-feature=exemplar-storage"
	exemplarStorageOperator = "enableFeatures: [exemplar-storage]"
)

// exampleCollector is the collector that config.env and README.md use to
// show how tracing is turned on; TestTracingOn turns it on that way.
const exampleCollector = "http://otel-collector.observability:4318"

// configEnvLeavesOut are the tracing variables that base/config.env must not
// set, and why.
var configEnvLeavesOut = map[string]string{
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "OTEL_EXPORTER_OTLP_ENDPOINT is the one to set",
	"OTEL_EXPORTER_OTLP_HEADERS":         "headers carry credentials, which belong in a Secret (env valueFrom.secretKeyRef)",
	"OTEL_RESOURCE_ATTRIBUTES":           "deployment.yaml sets it from the Downward API, and its value would win",
}

// TestConfigEnvTracing checks the tracing variables of base/config.env:
// tracing off (no endpoint), the service's name, and every other variable
// the service's own default, written out. A tracing variable added to
// config.Vars() fails it until config.env lists it or it joins
// configEnvLeavesOut.
func TestConfigEnvTracing(t *testing.T) {
	objs := render(t, "base")
	_, c := workload(t, objs)
	if len(c.EnvFrom) == 0 || c.EnvFrom[0].ConfigMapRef == nil {
		t.Fatal("the container takes no ConfigMap (envFrom)")
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	objs.get(t, "ConfigMap", c.EnvFrom[0].ConfigMapRef.Name).decode(t, &cm)
	want := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "", // off: the template ships no collector
		"OTEL_SERVICE_NAME":           appName,
	}
	n := 0
	for _, v := range config.Vars() {
		if !strings.HasPrefix(v.Name, "OTEL_") {
			continue
		}
		n++
		got, set := cm.Data[v.Name]
		if why, ok := configEnvLeavesOut[v.Name]; ok {
			if set {
				t.Errorf("%s sets %s: leave it out (%s)", configEnvFile, v.Name, why)
			}
			continue
		}
		w, special := want[v.Name]
		if !special {
			w = v.Default
		}
		switch {
		case !set:
			t.Errorf("%s lacks %s; want %s=%s", configEnvFile, v.Name, v.Name, w)
		case got != w && special:
			t.Errorf("%s sets %s=%s, want %q", configEnvFile, v.Name, got, w)
		case got != w:
			t.Errorf("%s sets %s=%s, but the service's default is %q: the base writes out the defaults (set another value in an overlay)", configEnvFile, v.Name, got, w)
		}
	}
	if n == 0 {
		t.Fatal("config.Vars() has no OTEL_ variable")
	}
	if cfg := loadConfig(t, environment(t, objs, c)); cfg.Tracing.Enabled() {
		t.Errorf("tracing is on in the base (spans to %s): it must be off until an overlay names a collector", cfg.Tracing.Endpoint)
	}
	raw, err := os.ReadFile(configEnvFile)
	if err != nil {
		t.Fatal(err)
	}
	if example := "OTEL_EXPORTER_OTLP_ENDPOINT=" + exampleCollector; !bytes.Contains(raw, []byte(example)) {
		t.Errorf("%s does not show how to turn tracing on (%s), as TestTracingOn does it", configEnvFile, example)
	}
}

// checkTracing checks the tracing configuration a rendered overlay gives the
// service: its name, and the pod, namespace and node attributes from the
// Downward API on every span; with tracing on, that the NetworkPolicy lets
// the spans out.
func checkTracing(tb testing.TB, objs objects, cfg config.Config) {
	tb.Helper()
	if cfg.Tracing.ServiceName != appName {
		tb.Errorf("OTEL_SERVICE_NAME = %q, want %q", cfg.Tracing.ServiceName, appName)
	}
	d := objs.get(tb, "Deployment", appName)
	for key, want := range map[string]string{
		"k8s.pod.name":       standInPodName,
		"k8s.namespace.name": d.Metadata.Namespace,
		"k8s.node.name":      standInNodeName,
	} {
		if got := cfg.Tracing.Resource[key]; got != want {
			tb.Errorf("OTEL_RESOURCE_ATTRIBUTES gives %s=%q, want %q (from the Downward API)", key, got, want)
		}
	}
	if cfg.Tracing.Enabled() {
		checkEgress(tb, objs, cfg.Tracing.Endpoint)
	}
}

// networkPolicyEgress is the egress part of a NetworkPolicy.
type networkPolicyEgress struct {
	Spec struct {
		PolicyTypes []string `yaml:"policyTypes"`
		Egress      []struct {
			Ports []struct {
				Port     any    `yaml:"port"`
				EndPort  int    `yaml:"endPort"`
				Protocol string `yaml:"protocol"`
			} `yaml:"ports"`
		} `yaml:"egress"`
	} `yaml:"spec"`
}

// allows reports whether some egress rule admits port and protocol. The
// destinations (to) are not compared: where the collector runs is not known
// here, only the port it listens on.
func (np networkPolicyEgress) allows(port int, protocol string) bool {
	for _, rule := range np.Spec.Egress {
		if len(rule.Ports) == 0 {
			return true
		}
		for _, p := range rule.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = "TCP"
			}
			if proto != protocol {
				continue
			}
			n, isNumber := p.Port.(int)
			if p.Port == nil || (isNumber && (n == port || (n < port && port <= p.EndPort))) {
				return true
			}
		}
	}
	return false
}

// checkEgress checks that, if the NetworkPolicy restricts egress, it admits
// the OTLP endpoint's port and, for a host name, DNS.
func checkEgress(tb testing.TB, objs objects, endpoint string) {
	tb.Helper()
	var np networkPolicyEgress
	objs.get(tb, "NetworkPolicy", appName).decode(tb, &np)
	// Without policyTypes, Kubernetes restricts egress when there are egress
	// rules.
	if !slices.Contains(np.Spec.PolicyTypes, "Egress") && (len(np.Spec.PolicyTypes) > 0 || len(np.Spec.Egress) == 0) {
		return
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatalf("OTLP endpoint %q: %v", endpoint, err)
	}
	port := map[string]int{"http": 80, "https": 443}[u.Scheme]
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	if !np.allows(port, "TCP") {
		tb.Errorf("the NetworkPolicy restricts egress and admits no TCP port %d: spans to %s would be lost (tracing_spans_export_failed_total)", port, endpoint)
	}
	if net.ParseIP(u.Hostname()) == nil && !np.allows(53, "UDP") && !np.allows(53, "TCP") {
		tb.Errorf("the NetworkPolicy restricts egress and admits no DNS (port 53): %s cannot be resolved", u.Hostname())
	}
}

// errorRecorder is a testing.TB that records errors instead of failing, to
// check that a check fails.
type errorRecorder struct {
	testing.TB
	errors []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// documentedEgress returns the egress rules that the comment of
// networkpolicy.yaml shows, as YAML.
func documentedEgress(tb testing.TB) string {
	tb.Helper()
	raw, err := os.ReadFile(networkPolicyFile)
	if err != nil {
		tb.Fatal(err)
	}
	var out strings.Builder
	for line := range strings.SplitSeq(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if after, ok := strings.CutPrefix(line, "#   "); ok && (out.Len() > 0 || after == "egress:") {
			out.WriteString(after + "\n")
		}
	}
	if out.Len() == 0 {
		tb.Fatalf("%s: no example egress: block in the leading comment", networkPolicyFile)
	}
	return out.String()
}

// TestTracingOn turns tracing on in prod as config.env and README.md say,
// and checks what the service then gets: spans to the collector's
// /v1/traces, with the service's name and the pod's attributes. It also
// restricts egress as networkpolicy.yaml's comment shows, which must still
// let the spans out, and without the collector's port, which must not.
func TestTracingOn(t *testing.T) {
	prod, err := filepath.Abs("overlays/prod")
	if err != nil {
		t.Fatal(err)
	}
	overlay := func(t *testing.T, egress string) objects {
		dir := t.TempDir()
		rel, err := filepath.Rel(dir, prod)
		if err != nil {
			t.Fatal(err)
		}
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
			"resources:\n  - " + rel + "\n" +
			"configMapGenerator:\n  - name: " + appName + "\n    behavior: merge\n    literals:\n" +
			"      - OTEL_EXPORTER_OTLP_ENDPOINT=" + exampleCollector + "\n"
		if egress != "" {
			k += "patches:\n  - path: egress.yaml\n"
			patch := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " + appName + "\n" +
				"spec:\n  policyTypes: [Ingress, Egress]\n" + indent(egress, "  ")
			if err := os.WriteFile(filepath.Join(dir, "egress.yaml"), []byte(patch), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
		return render(t, dir)
	}

	objs := overlay(t, "")
	_, c := workload(t, objs)
	cfg := loadConfig(t, environment(t, objs, c))
	if want := exampleCollector + "/v1/traces"; !cfg.Tracing.Enabled() || cfg.Tracing.Endpoint != want {
		t.Errorf("tracing on %v, spans to %q; want on, to %q", cfg.Tracing.Enabled(), cfg.Tracing.Endpoint, want)
	}
	checkTracing(t, objs, cfg)

	t.Run("egress as documented", func(t *testing.T) {
		objs := overlay(t, documentedEgress(t))
		checkEgress(t, objs, cfg.Tracing.Endpoint)
	})
	t.Run("egress without the collector", func(t *testing.T) {
		objs := overlay(t, "egress:\n  - ports:\n      - {port: 53, protocol: UDP}\n")
		r := &errorRecorder{TB: t}
		checkEgress(r, objs, cfg.Tracing.Endpoint)
		if len(r.errors) != 1 || !strings.Contains(r.errors[0], "port 4318") {
			t.Errorf("checkEgress reported %q, want one error about port 4318", r.errors)
		}
	})
}

// indent prefixes every non-empty line of s with prefix.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// isLatencyQuery reports whether expr is a quantile of the request
// duration histogram: the query whose buckets carry the exemplars.
func isLatencyQuery(expr string) bool {
	return strings.Contains(expr, "histogram_quantile(") && slices.Contains(metricNames(expr), "http_server_request_duration_seconds_bucket")
}

func TestDashboardExemplars(t *testing.T) {
	_, panels := readDashboard(t)
	latencyPanels := 0
	for _, p := range panels {
		var latency, exemplars []string
		for _, target := range p.Targets {
			if isLatencyQuery(target.Expr) {
				latency = append(latency, target.RefID)
			}
			if !target.Exemplar {
				continue
			}
			exemplars = append(exemplars, target.RefID)
			if !slices.Contains(metricNames(target.Expr), "http_server_request_duration_seconds_bucket") {
				t.Errorf("panel %q: query %s asks for exemplars, but only http_server_request_duration_seconds_bucket has them", p.Title, target.RefID)
			}
		}
		if p.Type != "timeseries" || len(latency) == 0 {
			if len(exemplars) > 0 && p.Type != "timeseries" {
				t.Errorf("panel %q (%s) asks for exemplars, which only a time series panel shows", p.Title, p.Type)
			}
			continue
		}
		latencyPanels++
		// The exemplars of each query are those of the series it selects:
		// the same for every quantile, so one query shows them once.
		if len(exemplars) != 1 {
			t.Errorf("panel %q: queries %v ask for exemplars, want exactly one of %v", p.Title, exemplars, latency)
		}
	}
	if latencyPanels == 0 {
		t.Error("no time series panel shows a quantile of http_server_request_duration_seconds_bucket")
	}
}

// grafanaDatasources is a Grafana data source provisioning file.
type grafanaDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name     string `yaml:"name"`
		Type     string `yaml:"type"`
		UID      string `yaml:"uid"`
		URL      string `yaml:"url"`
		JSONData struct {
			ExemplarTraceIDDestinations []struct {
				Name          string `yaml:"name"`
				DatasourceUID string `yaml:"datasourceUid"`
				URL           string `yaml:"url"`
			} `yaml:"exemplarTraceIdDestinations"`
		} `yaml:"jsonData"`
	} `yaml:"datasources"`
}

// TestGrafanaDatasources checks that the Prometheus data source turns the
// exemplar label holding the trace ID, as the service writes it, into a link
// to a trace data source (or a URL) that exists.
func TestGrafanaDatasources(t *testing.T) {
	var f grafanaDatasources
	readYAML(t, datasourcesFile, &f)
	if f.APIVersion != 1 {
		t.Errorf("%s: apiVersion %d, want 1", datasourcesFile, f.APIVersion)
	}
	traceSources := map[string]string{} // uid -> type
	for _, ds := range f.Datasources {
		if ds.Type == "jaeger" || ds.Type == "tempo" || ds.Type == "zipkin" {
			traceSources[ds.UID] = ds.Type
		}
		if ds.URL == "" {
			t.Errorf("%s: data source %q has no url", datasourcesFile, ds.Name)
		}
	}
	prometheusSources := 0
	for _, ds := range f.Datasources {
		if ds.Type != "prometheus" {
			continue
		}
		prometheusSources++
		linked := false
		for _, dest := range ds.JSONData.ExemplarTraceIDDestinations {
			if dest.Name != metrics.ExemplarTraceID {
				t.Errorf("%s: %s links the exemplar label %q, but the service writes the trace ID in %q", datasourcesFile, ds.Name, dest.Name, metrics.ExemplarTraceID)
				continue
			}
			switch {
			case dest.DatasourceUID != "" && traceSources[dest.DatasourceUID] == "":
				t.Errorf("%s: %s links trace_id to data source uid %q, which is no Jaeger, Tempo or Zipkin data source of the file", datasourcesFile, ds.Name, dest.DatasourceUID)
			case dest.DatasourceUID == "" && !strings.Contains(dest.URL, "$${__value.raw}"):
				t.Errorf("%s: %s links trace_id to url %q, which lacks $${__value.raw} (the trace ID; $$ escapes Grafana's own environment variables)", datasourcesFile, ds.Name, dest.URL)
			default:
				linked = true
			}
		}
		if !linked {
			t.Errorf("%s: %s has no exemplarTraceIdDestinations entry for %q: exemplars on the dashboard would link to no trace", datasourcesFile, ds.Name, metrics.ExemplarTraceID)
		}
	}
	if prometheusSources == 0 {
		t.Errorf("%s: no prometheus data source", datasourcesFile)
	}
}

// scrapeProtocolHeaders are the media types Prometheus asks for, by the
// names of scrape_protocols, as Prometheus 3 writes them.
var scrapeProtocolHeaders = map[string]string{
	"PrometheusProto":      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	"PrometheusText0.0.4":  "text/plain;version=0.0.4",
	"PrometheusText1.0.0":  "text/plain;version=1.0.0;escaping=allow-utf-8",
	"OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
	"OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8",
}

// defaultScrapeProtocols is Prometheus 3's default scrape_protocols (2.x
// lacks PrometheusText1.0.0); with native histograms on, PrometheusProto
// comes first.
var defaultScrapeProtocols = []string{"OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"}

// acceptHeader returns the Accept header of a scrape with protocols, as
// Prometheus builds it: decreasing weights, anything else last.
func acceptHeader(tb testing.TB, protocols []string) string {
	tb.Helper()
	var vals []string
	weight := len(scrapeProtocolHeaders) + 1
	for _, p := range protocols {
		h, ok := scrapeProtocolHeaders[p]
		if !ok {
			tb.Fatalf("unknown scrape protocol %q", p)
		}
		vals = append(vals, fmt.Sprintf("%s;q=0.%d", h, weight))
		weight--
	}
	return strings.Join(append(vals, fmt.Sprintf("*/*;q=0.%d", weight)), ",")
}

// scrapeProtocols returns, for every way deploy/ makes Prometheus scrape the
// service, the scrape protocols it asks for: the scrape configuration's
// (its job's, or else its global ones, or else the default) and the
// ServiceMonitor's.
func scrapeProtocols(tb testing.TB) map[string][]string {
	tb.Helper()
	var sc struct {
		Global struct {
			ScrapeProtocols []string `yaml:"scrape_protocols"`
		} `yaml:"global"`
		ScrapeConfigs []struct {
			JobName         string   `yaml:"job_name"`
			ScrapeProtocols []string `yaml:"scrape_protocols"`
		} `yaml:"scrape_configs"`
	}
	readYAML(tb, scrapeConfigFile, &sc)
	out := map[string][]string{}
	for _, job := range sc.ScrapeConfigs {
		p := job.ScrapeProtocols
		if p == nil {
			p = sc.Global.ScrapeProtocols
		}
		if p == nil {
			p = defaultScrapeProtocols
		}
		out[scrapeConfigFile+" job "+job.JobName] = p
	}
	var sm struct {
		Spec struct {
			ScrapeProtocols []string `yaml:"scrapeProtocols"`
		} `yaml:"spec"`
	}
	readYAML(tb, serviceMonitorFile, &sm)
	if sm.Spec.ScrapeProtocols != nil {
		out[serviceMonitorFile] = sm.Spec.ScrapeProtocols
	} else {
		out[serviceMonitorFile] = defaultScrapeProtocols
	}
	return out
}

// TestScrapesCarryExemplars checks that every scrape deploy/ configures
// asks for a format that carries exemplars, by scraping a registry set up
// as the service sets it up with tracing on, after a sampled request, with
// the scrape's Accept header: OpenMetrics (or protobuf) carries the
// exemplar, the classic text format drops it.
func TestScrapesCarryExemplars(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{Exemplars: true})
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	r := m.Route(http.MethodGet, "/v1/items")
	r.Start()
	r.DoneSampled(http.StatusOK, 30*time.Millisecond, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
	admin := routes.Admin(routes.AdminDeps{Registerer: reg, Gatherer: reg})
	// scrape returns the Content-Type of a scrape asking for protocols, and
	// whether the response carries the exemplar.
	scrape := func(protocols []string) (string, bool) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", acceptHeader(t, protocols))
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, req)
		return rec.Header().Get("Content-Type"), slices.Contains(exemplarTraceIDs(t, rec.Header(), rec.Body), tid.String())
	}

	for where, protocols := range scrapeProtocols(t) {
		if format, found := scrape(protocols); !found {
			t.Errorf("%s: scrape protocols %v; the service answers %s, without the exemplars: leave scrape_protocols unset, or put OpenMetricsText1.0.0 or PrometheusProto first",
				where, protocols, format)
		}
	}
	// The classic text format has no room for exemplars: this test must
	// tell the two apart.
	if format, found := scrape([]string{"PrometheusText0.0.4"}); found {
		t.Errorf("a scrape for the classic text format got %s with the exemplar: this test no longer tells the formats apart", format)
	}
}

// openMetricsExemplar matches the exemplar of a request duration bucket in
// the OpenMetrics text format.
var openMetricsExemplar = regexp.MustCompile(`(?m)^http_server_request_duration_seconds_bucket\{.*\} \S+ # \{[^}]*\b` + regexp.QuoteMeta(metrics.ExemplarTraceID) + `="([0-9a-f]+)"`)

// exemplarTraceIDs returns the trace IDs of the request duration buckets'
// exemplars in a /metrics response: OpenMetrics read as text, the
// Prometheus formats (protobuf, classic text) decoded.
func exemplarTraceIDs(tb testing.TB, header http.Header, body io.Reader) []string {
	tb.Helper()
	var ids []string
	format := header.Get("Content-Type")
	if strings.HasPrefix(format, "application/openmetrics-text") {
		data, err := io.ReadAll(body)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range openMetricsExemplar.FindAllStringSubmatch(string(data), -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	dec := expfmt.NewDecoder(body, expfmt.ResponseFormat(header))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if !errors.Is(err, io.EOF) {
				tb.Fatalf("decoding /metrics (%s): %v", format, err)
			}
			return ids
		}
		if mf.GetName() != "http_server_request_duration_seconds" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			for _, b := range metric.GetHistogram().GetBucket() {
				for _, l := range b.GetExemplar().GetLabel() {
					if l.GetName() == metrics.ExemplarTraceID {
						ids = append(ids, l.GetValue())
					}
				}
			}
		}
	}
}

// TestExemplarStorageDocumented checks that wherever deploy/ configures
// Prometheus, it says how to make Prometheus store exemplars: a flag for a
// plain Prometheus, a field of the Prometheus object for the operator.
// Neither is a setting of a file here (the flag is on Prometheus's command
// line, the field on a Prometheus object of the monitoring stack).
func TestExemplarStorageDocumented(t *testing.T) {
	for file, want := range map[string][]string{
		scrapeConfigFile:      {exemplarStorageFlag},
		operatorComponentFile: {exemplarStorageOperator},
		readmeFile:            {exemplarStorageFlag, exemplarStorageOperator},
	} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !bytes.Contains(raw, []byte(w)) {
				t.Errorf("%s does not say %q: without exemplar storage Prometheus drops the exemplars the dashboard shows", file, w)
			}
		}
	}
}
