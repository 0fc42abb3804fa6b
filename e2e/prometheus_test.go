// Package e2e runs the service's binary under a real Prometheus server
// (Debian's prometheus package, or any prometheus on PATH), which scrapes it
// and evaluates the rules, dashboard queries and autoscaling query of
// deploy/, over loopback.
package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// The target's labels. job is what every query of deploy/ selects on;
// namespace and pod are what deploy/prometheus/scrape-config.yml and the
// ServiceMonitor add in a cluster, and what the dashboard and the autoscaling
// query filter and group by.
const (
	job             = "ginstarter"
	targetNamespace = "e2e"
	targetPod       = "ginstarter-e2e"
)

// How often Prometheus scrapes the service and evaluates the rules, and
// how often the tests ask it again.
const (
	scrapeInterval = "250ms"
	promTick       = 50 * time.Millisecond
)

func TestPrometheusScrapesTheService(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not on PATH, so the end-to-end test with a real Prometheus server does not run: install it (Debian: apt-get install prometheus); CI installs it")
	}
	root := testkit.ModuleRoot(t)
	// Prometheus passes what target discovery finds on to its scrapers
	// only every 5 s, the first time 5 s after it starts. So it starts
	// first, watching a file that names no target yet, and that wait runs
	// while the service is built and started.
	targets := filepath.Join(t.TempDir(), "targets.json")
	prom := startPrometheus(t, promBin, prometheusConfig(t, root, targets))
	svc := testkit.StartService(t, "", "DEMO_ENDPOINTS=true", "SHUTDOWN_DRAIN_DELAY=0s", "SHUTDOWN_TIMEOUT=5s", "LOG_FORMAT=json")
	writeTargets(t, targets, svc.Admin)
	client := &http.Client{Timeout: 2 * waitLimit}
	t.Cleanup(client.CloseIdleConnections)

	// Each subtest sends the traffic it needs, so that any one of them can
	// run alone (-run 'TestPrometheusScrapesTheService/deploy'). The first
	// two need no scrape, and run while Prometheus discovers the service.
	t.Run("promtool check metrics", func(t *testing.T) { testPromtoolCheckMetrics(t, svc, client) })
	t.Run("rule groups loaded and healthy", func(t *testing.T) { testRuleHealth(t, prom, readRules(t, root)) })

	upQuery := `up{job="` + job + `"}`
	eventually(t, upQuery+" == 1", func() (bool, string) {
		got := prom.mustQuery(t, upQuery)
		return len(got) == 1 && got[0].Float() == 1, fmt.Sprint(got)
	})
	t.Run("in-flight gauge", func(t *testing.T) { testInFlight(t, prom, svc, client) })
	t.Run("panic counted once", func(t *testing.T) { testPanic(t, prom, svc, client) })
	t.Run("panic alert fires", func(t *testing.T) { testPanicAlert(t, prom, svc, client) })
	t.Run("deploy queries evaluate", func(t *testing.T) { testDeployQueries(t, prom, svc, client, root) })
}

// prometheusConfig writes a prometheus.yml that scrapes, as job
// "ginstarter", the targets that the file targets names (see writeTargets)
// every scrapeInterval, and loads the rules of deploy/.
func prometheusConfig(tb testing.TB, root, targets string) string {
	tb.Helper()
	return writeYAML(tb, "prometheus.yml", map[string]any{
		"global": map[string]any{
			"scrape_interval":     scrapeInterval,
			"scrape_timeout":      scrapeInterval,
			"evaluation_interval": scrapeInterval,
		},
		"rule_files": []string{filepath.Join(root, rulesFile)},
		"scrape_configs": []any{map[string]any{
			"job_name":        job,
			"metrics_path":    "/metrics",
			"file_sd_configs": []any{map[string]any{"files": []string{targets}}},
		}},
	})
}

// writeTargets writes the file targets, which Prometheus watches: one
// target, the admin listener at adminAddr, with the labels of a pod. It
// writes a temporary file and renames it, so that Prometheus never reads
// half of it.
func writeTargets(tb testing.TB, targets, adminAddr string) {
	tb.Helper()
	data, err := json.Marshal([]any{map[string]any{
		"targets": []string{adminAddr},
		"labels":  map[string]string{"namespace": targetNamespace, "pod": targetPod, "container": "ginstarter"},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tmp := targets + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, targets); err != nil {
		tb.Fatal(err)
	}
}

// testInFlight holds requests in /v1/demo/sleep and watches Prometheus see
// them in flight, then see them end when their clients go away.
func testInFlight(t *testing.T, prom *promServer, svc *testkit.Process, client *http.Client) {
	const n = 5
	activeQuery := `sum(http_server_active_requests{job="` + job + `"})`
	release := testkit.HoldRequests(t, client, svc.URL("/v1/demo/sleep?d=30s"), n)
	waitValue(t, prom, activeQuery, n)
	for _, err := range release() {
		t.Errorf("held request: %v, want context.Canceled", err)
	}
	waitValue(t, prom, activeQuery, 0)
}

// waitValue waits until expr returns one sample of value want.
func waitValue(tb testing.TB, prom *promServer, expr string, want float64) {
	tb.Helper()
	eventually(tb, fmt.Sprintf("%s == %v", expr, want), func() (bool, string) {
		got := prom.mustQuery(tb, expr)
		return len(got) == 1 && got[0].Float() == want, fmt.Sprint(got)
	})
}

// panicRoute is the demo route whose handler panics.
const panicRoute = "/v1/demo/panic"

// get sends GET path to the public listener and checks the status.
func get(tb testing.TB, svc *testkit.Process, client *http.Client, path string, want int) {
	tb.Helper()
	resp, err := client.Get(svc.URL(path))
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		tb.Errorf("GET %s: status %d, want %d", path, resp.StatusCode, want)
	}
}

// testPanic sends one request that panics and checks that Prometheus sees
// exactly one more panic and one more 500 on its route. The counters start
// with the first panic, so the values before are usually absent (0).
func testPanic(t *testing.T, prom *promServer, svc *testkit.Process, client *http.Client) {
	panics := `http_server_panics_total{job="` + job + `", http_route="` + panicRoute + `"}`
	errors500 := `http_server_request_duration_seconds_count{job="` + job + `", http_route="` + panicRoute + `", http_response_status_code="500"}`
	panicsBefore, errorsBefore := total(t, prom, panics), total(t, prom, errors500)

	get(t, svc, client, panicRoute, http.StatusInternalServerError)

	// A counter changes in one step, so the first value that differs is the
	// one to check.
	for _, c := range []struct {
		expr   string
		before float64
	}{{panics, panicsBefore}, {errors500, errorsBefore}} {
		var after float64
		eventually(t, c.expr+" changes", func() (bool, string) {
			after = total(t, prom, c.expr)
			return after != c.before, fmt.Sprintf("%v (before the request: %v)", after, c.before)
		})
		if after-c.before != 1 {
			t.Errorf("%s went from %v to %v after one panic, want an increase of exactly 1", c.expr, c.before, after)
		}
	}
	if got := prom.mustQuery(t, errors500); len(got) != 1 {
		t.Errorf("%s: %d series, want 1: %v", errors500, len(got), got)
	}
}

// total returns the sum of the values of expr's samples: 0 when there is
// none.
func total(tb testing.TB, prom *promServer, expr string) float64 {
	tb.Helper()
	var sum float64
	for _, s := range prom.mustQuery(tb, expr) {
		sum += s.Float()
	}
	return sum
}

// testPanicAlert checks that a panic fires HTTPServerPanics, also when the
// counter's series started with that panic (the first panic on the route).
func testPanicAlert(t *testing.T, prom *promServer, svc *testkit.Process, client *http.Client) {
	get(t, svc, client, panicRoute, http.StatusInternalServerError)
	eventually(t, "alert HTTPServerPanics firing for "+panicRoute, func() (bool, string) {
		var data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		}
		if err := prom.api(t, "/api/v1/alerts", nil, &data); err != nil {
			t.Fatalf("/api/v1/alerts: %v", err)
		}
		for _, a := range data.Alerts {
			if a.Labels["alertname"] == "HTTPServerPanics" && a.Labels["http_route"] == panicRoute &&
				a.Labels["namespace"] == targetNamespace && a.State == "firing" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", data.Alerts)
	})
}

// promRules is the answer of /api/v1/rules.
type promRules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Name           string    `json:"name"`
			Health         string    `json:"health"`
			LastError      string    `json:"lastError"`
			LastEvaluation time.Time `json:"lastEvaluation"`
		} `json:"rules"`
	} `json:"groups"`
}

// testRuleHealth checks that Prometheus loaded every rule group of
// deploy/ with all its rules, and that each rule evaluates without error.
func testRuleHealth(t *testing.T, prom *promServer, want ruleFile) {
	wantRules := map[string]int{}
	for _, g := range want.Groups {
		wantRules[g.Name] = len(g.Rules)
	}
	eventually(t, "every rule evaluated, health ok", func() (bool, string) {
		var got promRules
		if err := prom.api(t, "/api/v1/rules", nil, &got); err != nil {
			t.Fatalf("/api/v1/rules: %v", err)
		}
		gotRules := map[string]int{}
		var pending []string
		for _, g := range got.Groups {
			gotRules[g.Name] = len(g.Rules)
			for _, r := range g.Rules {
				switch {
				case r.Health == "err":
					t.Fatalf("group %s rule %s: health err: %s", g.Name, r.Name, r.LastError)
				case r.Health != "ok" || r.LastEvaluation.IsZero():
					pending = append(pending, fmt.Sprintf("%s/%s (health %q)", g.Name, r.Name, r.Health))
				}
			}
		}
		if fmt.Sprint(gotRules) != fmt.Sprint(wantRules) {
			t.Fatalf("Prometheus loaded groups (rule counts) %v, want %v from %s", gotRules, wantRules, rulesFile)
		}
		return len(pending) == 0, "not evaluated yet: " + strings.Join(pending, ", ")
	})
}

// testDeployQueries evaluates every PromQL expression of deploy/. Each must
// evaluate; those marked Data must also return something once the service
// has answered a request and a panic, which can take a few scrapes (rate
// needs two samples in its window).
func testDeployQueries(t *testing.T, prom *promServer, svc *testkit.Process, client *http.Client, root string) {
	get(t, svc, client, "/v1/items", http.StatusOK)
	get(t, svc, client, panicRoute, http.StatusInternalServerError)

	exprs := ruleExpressions(readRules(t, root))
	exprs = append(exprs, dashboardExpressions(t, prom, root)...)
	adapter := readAdapterRules(t, root)
	exprs = append(exprs, adapterExpressions(t, adapter)...)

	var waiting []expression
	for _, e := range exprs {
		if _, err := prom.query(t, e.Expr); err != nil {
			t.Errorf("%s does not evaluate: %v\nquery: %s", e.Where, err, e.Expr)
		} else if e.Data {
			waiting = append(waiting, e)
		}
	}
	t.Logf("%d expressions of deploy/ checked", len(exprs))
	// The adapter discovers its metrics with seriesQuery, through the
	// series API.
	for i, r := range adapter {
		if err := prom.api(t, "/api/v1/series", url.Values{"match[]": {r.SeriesQuery}}, new([]map[string]string)); err != nil {
			t.Errorf("%s rule %d seriesQuery %q: %v", adapterRulesFile, i, r.SeriesQuery, err)
		}
	}
	eventually(t, "every dashboard panel, recording rule and adapter query returns data", func() (bool, string) {
		var empty []string
		for _, e := range waiting {
			if got, err := prom.query(t, e.Expr); err == nil && len(got) == 0 {
				empty = append(empty, e.Where+": "+e.Expr)
			}
		}
		for i, r := range adapter {
			var series []map[string]string
			if err := prom.api(t, "/api/v1/series", url.Values{"match[]": {r.SeriesQuery}}, &series); err == nil && len(series) == 0 {
				empty = append(empty, fmt.Sprintf("%s rule %d seriesQuery (the adapter would serve no metric): %s", adapterRulesFile, i, r.SeriesQuery))
			}
		}
		return len(empty) == 0, "no data from:\n" + strings.Join(empty, "\n")
	})
}

// testPromtoolCheckMetrics lints the service's live /metrics with promtool.
func testPromtoolCheckMetrics(t *testing.T, svc *testkit.Process, client *http.Client) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH, although prometheus is: install both (Debian's prometheus package has both)")
	}
	resp, err := client.Get("http://" + svc.Admin + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, %v", resp.StatusCode, err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
