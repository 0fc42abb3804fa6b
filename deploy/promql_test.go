package deploy

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/tracing"
)

// PromQL pieces that metricNames blanks out before it looks for names.
var (
	promqlString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`(?i)\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlOffset   = regexp.MustCompile(`(?i)\boffset\s+-?[0-9a-z]+`)
	// A number (so that the e of 1e3 is not taken for a name), a Grafana
	// variable, or an identifier.
	promqlToken = regexp.MustCompile(`[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\$\{?\w+\}?|[A-Za-z_:][A-Za-z0-9_:]*`)
)

// promqlKeywords are identifiers that are not metric names.
var promqlKeywords = []string{"and", "or", "unless", "by", "without", "on", "ignoring",
	"group_left", "group_right", "offset", "bool", "atan2", "inf", "nan"}

// metricNames returns the metric names that a PromQL expression selects. It
// is a scanner, not a parser (the Prometheus parser is not a dependency of
// this module): it blanks out strings, label matchers, ranges, grouping
// label lists and offsets, and takes every remaining identifier that is
// neither a keyword nor a function or aggregation (followed by "(").
func metricNames(expr string) []string {
	for _, re := range []*regexp.Regexp{promqlString, promqlMatchers, promqlRanges, promqlGrouping, promqlOffset} {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, loc := range promqlToken.FindAllStringIndex(expr, -1) {
		tok := expr[loc[0]:loc[1]]
		first := tok[0]
		if first == '$' || (first >= '0' && first <= '9') || slices.Contains(promqlKeywords, strings.ToLower(tok)) {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(expr[loc[1]:], " \t\n"), "(") {
			continue
		}
		if !slices.Contains(names, tok) {
			names = append(names, tok)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (namespace, job) (rate(http_server_request_duration_seconds_count{job="x", code=~"5.."}[5m]))`,
			[]string{"http_server_request_duration_seconds_count"}},
		{`histogram_quantile(0.99, sum(rate(a_bucket{le!="+Inf"}[$__rate_interval])) by (le))`, []string{"a_bucket"}},
		{`a:b:rate5m > 1e3 or c * 0`, []string{"a:b:rate5m", "c"}},
		{`x unless x offset 5m`, []string{"x"}},
		{`sum(x) or vector(0)`, []string{"x"}},
		{`label_replace(y, "dst", "$1 {a} (b)", "src", "(.*)")`, []string{"y"}},
		{`a / on (pod) group_left (node) b`, []string{"a", "b"}},
		{`sum by (<<.GroupBy>>) (avg_over_time(z{<<.LabelMatchers>>}[1m]))`, []string{"z"}},
		{`absent(up{job="x"}) == bool 1`, []string{"up"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// exportedMetricNames returns the series names that the service exposes,
// gathered from a registry set up as run sets it up with tracing on, plus
// up, which Prometheus records for every target. Histograms contribute
// their _bucket, _sum and _count series.
func exportedMetricNames(tb testing.TB) map[string]bool {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.New("", ""), metrics.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	// Vectors are gathered only once they have a child.
	r := m.Route("GET", "/v1/items")
	r.Start()
	r.Done(200, time.Millisecond)
	m.Panic("/v1/items")
	metrics.Handler(reg, reg) // registers promhttp_metric_handler_*
	// The tracing_* metrics exist only with tracing on. No span ends here,
	// so the collector named is never called.
	cfg := loadConfig(tb, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
	tr, err := tracing.New(context.Background(), cfg.Tracing, appName, buildinfo.Info{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			tb.Error(err)
		}
	}()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	names := map[string]bool{"up": true}
	for _, f := range families {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+suffix] = true
			}
		case dto.MetricType_SUMMARY:
			names[f.GetName()] = true
			names[f.GetName()+"_sum"] = true
			names[f.GetName()+"_count"] = true
		default:
			names[f.GetName()] = true
		}
	}
	return names
}
