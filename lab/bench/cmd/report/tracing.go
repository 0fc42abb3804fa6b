package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ginstarter/ginstarter/lab/bench"
)

// tracingTitles are the table's names for the stacks of BenchmarkTracing.
var tracingTitles = map[string]string{
	bench.TracingOff:       "this project's metrics + recovery, no tracing (baseline)",
	bench.TracingUnsampled: "**this project**: Tracing, unsampled + metrics (exemplars on) + recovery",
	bench.TracingSampled:   "**this project**: Tracing, sampled + metrics (exemplars on) + recovery",
	bench.OtelginNoop:      "otelgin, no-op provider + metrics + recovery",
	bench.OtelginUnsampled: "otelgin, unsampled + metrics + recovery",
	bench.OtelginSampled:   "otelgin, sampled + metrics + recovery",
}

// modes pair this project's stack with otelgin's on the same provider.
var modes = []struct{ name, ours, otelgin string }{
	{"unsampled", bench.TracingUnsampled, bench.OtelginUnsampled},
	{"sampled", bench.TracingSampled, bench.OtelginSampled},
}

func tracingTitle(stack string) string {
	if t, ok := tracingTitles[stack]; ok {
		return t
	}
	return stack
}

// writeTracing writes the tables of BenchmarkTracing: every stack on every
// request, then this project against otelgin in each mode.
func writeTracing(w io.Writer, res *results, header []string) error {
	var b strings.Builder
	if len(header) > 0 {
		fmt.Fprintf(&b, "%s\n\n", strings.Join(header, ", "))
	}
	b.WriteString("| stack | request | ns/op (median) | spread | B/op | allocs/op | over the baseline: ns/op, ratio |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
	for _, st := range res.stacks {
		for _, rq := range res.routes {
			s, ok := res.samples[key{st, rq}]
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f%% | %.0f | %.0f | %s |\n",
				tracingTitle(st), rq, ns(median(s.ns)), 100*spread(s.ns), median(s.bytes), median(s.allocs),
				overBaseline(res, s, rq))
		}
	}
	fmt.Fprintf(&b, "\nspread: (max - min) / median of ns/op across the %d runs of each row. "+
		"The baseline is this project's metrics + recovery without tracing, on the same request.\n", runs(res))

	b.WriteString("\n| request | mode | this project ns/op | otelgin ns/op | ns/op this project / otelgin | this project allocs/op | otelgin allocs/op | allocs/op this project / otelgin | both below 0.50 | added over the baseline: this project, otelgin, ratio |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, rq := range res.routes {
		for _, m := range modes {
			ours, ok1 := res.samples[key{m.ours, rq}]
			theirs, ok2 := res.samples[key{m.otelgin, rq}]
			if !ok1 || !ok2 {
				continue
			}
			oNs, tNs := median(ours.ns), median(theirs.ns)
			oA, tA := median(ours.allocs), median(theirs.allocs)
			nsRatio, allocRatio := ratio(oNs, tNs), ratio(oA, tA)
			met := "no"
			if nsRatio < 0.5 && allocRatio < 0.5 {
				met = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f | %.0f | %.0f | %.2f | %s | %s |\n",
				rq, m.name, ns(oNs), ns(tNs), nsRatio, oA, tA, allocRatio, met,
				added(res, key{bench.TracingOff, rq}, oNs, tNs))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ratio returns a/b, or 0 when b is 0 (and a too).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// overBaseline returns how much the median ns/op of s exceeds the
// baseline's on request rq, and the ratio of the two.
func overBaseline(res *results, s *sample, rq string) string {
	base, ok := res.samples[key{bench.TracingOff, rq}]
	if !ok || median(base.ns) == 0 {
		return "n/a"
	}
	m, bm := median(s.ns), median(base.ns)
	return fmt.Sprintf("%s, %.2fx", ns(m-bm), m/bm)
}
