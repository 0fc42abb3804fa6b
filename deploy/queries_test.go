package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// adapterRulesFile holds the prometheus-adapter rule of the
// concurrency-autoscaling component.
const adapterRulesFile = "components/concurrency-autoscaling/prometheus-adapter-rules.yaml"

// dashboard is the part of the Grafana dashboard JSON the tests read.
type dashboard struct {
	SchemaVersion int `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name       string         `json:"name"`
			Type       string         `json:"type"`
			Query      any            `json:"query"` // a string, or an object in newer Grafana
			Datasource *datasourceRef `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
		Exemplar   bool           `json:"exemplar"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// readDashboard parses dashboard.json and returns it with every panel,
// those inside collapsed rows included.
func readDashboard(tb testing.TB) (dashboard, []panel) {
	tb.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		tb.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		tb.Fatalf("%s: %v", dashboardFile, err)
	}
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	return d, all
}

// labelValues matches a Grafana label_values(series, label) query.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

func TestDashboard(t *testing.T) {
	d, panels := readDashboard(t)
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want 36 or later (Grafana 9+ datasource references)", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		vars[v.Name] = v.Type + " " + q
	}
	if vars["datasource"] != "datasource prometheus" {
		t.Errorf("want a datasource variable of type prometheus, got %q", vars["datasource"])
	}
	for _, name := range []string{"namespace", "route"} {
		if !strings.HasPrefix(vars[name], "query label_values(") {
			t.Errorf("want a query variable %s with label_values(...), got %q", name, vars[name])
		}
	}

	shown := map[string]bool{}
	for _, p := range panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want uid ${datasource}", p.Title, p.Datasource)
		}
		for _, target := range p.Targets {
			if target.Datasource == nil || target.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: a query's datasource is %+v, want uid ${datasource}", p.Title, target.Datasource)
			}
			if !strings.Contains(target.Expr, `namespace="$namespace"`) {
				t.Errorf("panel %q: query %q ignores the namespace variable", p.Title, target.Expr)
			}
			for _, n := range metricNames(target.Expr) {
				shown[n] = true
			}
		}
	}
	for _, m := range []string{
		"http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket",
		"http_server_active_requests", "http_server_panics_total", "go_goroutines",
		"process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "service_build_info",
	} {
		if !shown[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// queries returns every PromQL query of the monitoring kit, keyed by where
// it is: the rules, the dashboard's panels and variables, and the
// prometheus-adapter rule of the concurrency-autoscaling component.
func queries(tb testing.TB) map[string]string {
	tb.Helper()
	qs := map[string]string{}
	for _, r := range rules(tb) {
		qs[rulesFile+" "+r.Record+r.Alert] = r.Expr
	}
	d, panels := readDashboard(tb)
	for _, p := range panels {
		for i, target := range p.Targets {
			qs[dashboardFile+" panel "+p.Title+" query "+string(rune('A'+i))] = target.Expr
		}
	}
	for _, v := range d.Templating.List {
		if q, _ := v.Query.(string); v.Type == "query" {
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				tb.Fatalf("%s variable %s: %q is not label_values(series, label)", dashboardFile, v.Name, q)
			}
			qs[dashboardFile+" variable "+v.Name] = m[1]
		}
	}
	manifest, err := os.ReadFile(adapterRulesFile)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range adapterRules(tb, parseObjects(tb, manifest)) {
		qs["prometheus-adapter seriesQuery"] = r.SeriesQuery
		qs["prometheus-adapter metricsQuery"] = r.MetricsQuery
	}
	return qs
}

func TestQueriesUseExportedMetrics(t *testing.T) {
	exported := exportedMetricNames(t)
	recorded := map[string]bool{}
	for _, r := range rules(t) {
		recorded[r.Record] = r.Record != ""
	}
	for where, q := range queries(t) {
		names := metricNames(q)
		if len(names) == 0 {
			t.Errorf("%s: found no metric name in %q", where, q)
		}
		for _, n := range names {
			if !exported[n] && !recorded[n] {
				t.Errorf("%s: %s is neither exported by the service nor recorded in %s", where, n, rulesFile)
			}
		}
	}
}

// adapterRules returns the prometheus-adapter rules in the rendered
// objects.
func adapterRules(tb testing.TB, objs objects) []AdapterRule {
	tb.Helper()
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	objs.get(tb, "ConfigMap", appName+"-prometheus-adapter-rules").decode(tb, &cm)
	rules, err := AdapterRules(cm.Data)
	if err != nil {
		tb.Fatalf("prometheus-adapter: %v", err)
	}
	return rules
}

func TestConcurrencyAutoscaling(t *testing.T) {
	// The component applied to prod, as the README tells a user to do.
	dir := t.TempDir()
	prod, errP := filepath.Abs("overlays/prod")
	component, errC := filepath.Abs("components/concurrency-autoscaling")
	if errP != nil || errC != nil {
		t.Fatal(errP, errC)
	}
	relProd, _ := filepath.Rel(dir, prod)
	relComponent, _ := filepath.Rel(dir, component)
	kustomization := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
		"resources:\n  - " + relProd + "\ncomponents:\n  - " + relComponent + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := render(t, dir)

	h := checkHPA(t, objs, 3)
	var pods []string
	for _, m := range h.Spec.Metrics {
		if m.Type == "Pods" && m.Pods != nil && m.Pods.Target.Type == "AverageValue" && m.Pods.Target.AverageValue != "" {
			pods = append(pods, m.Pods.Metric.Name)
		}
	}
	if !slices.Equal(pods, []string{"http_server_active_requests"}) {
		t.Errorf("HPA Pods metrics %v, want http_server_active_requests with an averageValue target", pods)
	}
	for _, r := range adapterRules(t, objs) {
		if r.Name.As != "http_server_active_requests" {
			t.Errorf("prometheus-adapter rule serves %q, but the HPA asks for http_server_active_requests", r.Name.As)
		}
		for _, placeholder := range []string{"<<.GroupBy>>", "<<.LabelMatchers>>"} {
			if !strings.Contains(r.MetricsQuery, placeholder) {
				t.Errorf("metricsQuery lacks %s, so it would not select the HPA's pods", placeholder)
			}
		}
	}
}
