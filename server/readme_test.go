package server_test

import (
	"bufio"
	"context"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
	"github.com/ginstarter/ginstarter/tracing"
)

// TestReadmeMetricsTable keeps README.md's metrics table equal to the
// metric families the service registers, controllers' own included: every
// family documented with its type and labels, and no row for a metric that
// does not exist.
func TestReadmeMetricsTable(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.New("test", "test"), metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := routes.New(routes.Deps{
		Logger: slog.New(slog.DiscardHandler), Metrics: m, Registerer: reg,
		Items: controllers.NewMemoryItems(), Ready: func() bool { return true },
	}); err != nil {
		t.Fatal(err)
	}
	metrics.Handler(reg, reg) // registers the scrape counters
	// Tracing registers its export queue's metrics when it is on.
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	traces, err := tracing.New(t.Context(), cfg.Tracing, "test", buildinfo.Info{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = traces.Shutdown(context.Background()) })
	// Vectors show a family only once they have a series.
	r := m.Route("GET", "/v1/items/:id")
	r.Start()
	r.Done(200, time.Millisecond)
	m.Panic("/v1/items/:id")
	m.Shed()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}

	readme := map[string]string{} // name -> "type | labels"
	var prefixes []string         // collectors, documented as a group: go_*
	for _, row := range readmeTable(t, "| metric | type | labels |") {
		names := backticked(row[0])
		if len(row) != 3 || len(names) == 0 {
			t.Fatalf("README.md metrics row %q: want 3 cells, the first naming a metric in backticks", row)
		}
		if strings.HasSuffix(names[0], "*") {
			for _, n := range names {
				prefixes = append(prefixes, strings.TrimSuffix(n, "*"))
			}
			continue
		}
		typ, _, _ := strings.Cut(row[1], ":")
		typ, _, _ = strings.Cut(typ, ",")
		readme[names[0]] = strings.TrimSpace(typ) + " | " + strings.Join(slices.Sorted(slices.Values(backticked(row[2]))), ", ")
	}
	code := map[string]string{}
	for _, mf := range mfs {
		if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(mf.GetName(), p) }) {
			continue
		}
		labels := map[string]bool{}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		code[mf.GetName()] = strings.ToLower(mf.GetType().String()) + " | " + strings.Join(slices.Sorted(maps.Keys(labels)), ", ")
	}
	for _, name := range slices.Sorted(maps.Keys(code)) {
		if readme[name] != code[name] {
			t.Errorf("README.md's metrics table: %s is %q, want %q (type | labels)", name, readme[name], code[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(readme)) {
		if _, ok := code[name]; !ok {
			t.Errorf("README.md's metrics table documents %s, which the service does not register", name)
		}
	}
	for _, p := range prefixes {
		if !slices.ContainsFunc(mfs, func(mf *dto.MetricFamily) bool { return strings.HasPrefix(mf.GetName(), p) }) {
			t.Errorf("README.md documents %s*, but no registered family starts with %q", p, p)
		}
	}
}

// readmeTable returns the body rows of the Markdown table in README.md
// whose header line is header, each row split into trimmed cells.
func readmeTable(tb testing.TB, header string) [][]string {
	tb.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == header {
			break
		}
	}
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "|---") {
		tb.Fatalf("README.md has no table with the header %q", header)
	}
	var rows [][]string
	for sc.Scan() && strings.HasPrefix(sc.Text(), "|") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(sc.Text()), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

var backtickRE = regexp.MustCompile("`([^`]+)`")

// backticked returns the words in backticks in s.
func backticked(s string) []string {
	var out []string
	for _, m := range backtickRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}
