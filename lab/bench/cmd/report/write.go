package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ginstarter/ginstarter/lab/bench"
)

// titles are the table's names for the stacks.
var titles = map[string]string{
	bench.BareGin:            "bare gin (`gin.New()`)",
	bench.GinRecovery:        "`gin.RecoveryWithWriter(io.Discard)`",
	bench.ClockFloor:         "floor: two monotonic clock reads + gin.Recovery, records nothing",
	bench.Ginstarter:         "**this project**: metrics + recovery",
	bench.GinstarterFull:     "this project, full stack (`routes.New`, `LOG_LEVEL=warn`)",
	bench.ZsaisGinPrometheus: "zsais/go-gin-prometheus + gin.Recovery",
	bench.PenglongliMetrics:  "penglongli/gin-metrics + gin.Recovery",
	bench.DepadoGinprom:      "Depado/ginprom + gin.Recovery",
	bench.SlokHTTPMetrics:    "slok/go-http-metrics (gin) + gin.Recovery",
}

// alternatives are the libraries compared with this project.
var alternatives = []string{
	bench.ZsaisGinPrometheus, bench.PenglongliMetrics, bench.DepadoGinprom, bench.SlokHTTPMetrics,
}

// unmatched reports whether the benchmark route named rt matches no route.
func unmatched(rt string) bool {
	for _, r := range bench.Routes {
		if r.Name == rt {
			return r.WantStatus == http.StatusNotFound
		}
	}
	return false
}

func title(stack string) string {
	if t, ok := titles[stack]; ok {
		return t
	}
	return stack
}

func write(w io.Writer, res *results) error {
	var b strings.Builder
	if len(res.header) > 0 {
		fmt.Fprintf(&b, "%s\n\n", strings.Join(res.header, ", "))
	}
	fmt.Fprintf(&b, "| stack | route | ns/op (median) | spread | B/op | allocs/op | ratio to bare gin | route label values after %d unknown paths | new ones after %[1]d ids on /users/:id |\n", bench.UnknownPaths)
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, st := range res.stacks {
		for _, rt := range res.routes {
			s, ok := res.samples[key{st, rt}]
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f%% | %.0f | %.0f | %s | %s | %s |\n",
				title(st), rt, ns(median(s.ns)), 100*spread(s.ns), median(s.bytes), median(s.allocs),
				ratioTo(res, s, key{bench.BareGin, rt}), labels(s.labels), count(s.paramLabels))
		}
	}
	fmt.Fprintf(&b, "\nspread: (max - min) / median of ns/op across the %d runs of each row.\n", runs(res))
	b.WriteString("\n| route | this project ns/op | best alternative | its ns/op | best alternative / this project | added over bare gin: this project, best alternative, ratio | this project above the clock floor |\n")
	b.WriteString("|---|---:|---|---:|---:|---|---:|\n")
	for _, rt := range res.routes {
		own, ok := res.samples[key{bench.Ginstarter, rt}]
		if !ok {
			continue
		}
		ownNs := median(own.ns)
		best, bestNs := "", 0.0
		for _, alt := range alternatives {
			if s, ok := res.samples[key{alt, rt}]; ok {
				if s.labels == 0 && unmatched(rt) {
					continue // it does not record this request at all
				}
				if m := median(s.ns); best == "" || m < bestNs {
					best, bestNs = alt, m
				}
			}
		}
		if best == "" {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2fx | %s | %s |\n",
			rt, ns(ownNs), title(best), ns(bestNs), bestNs/ownNs,
			added(res, key{bench.BareGin, rt}, ownNs, bestNs), above(res, key{bench.ClockFloor, rt}, ownNs))
	}
	fmt.Fprintf(&b, "\nA stack with 0 route label values records no metrics for unmatched requests at all; it is left out of the best alternative on the unmatched route.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// added compares what this project (own ns/op) and another stack (other
// ns/op) cost over the baseline row base: bare gin on the same route, or
// this project without tracing on the same request.
func added(res *results, base key, own, other float64) string {
	row, ok := res.samples[base]
	if !ok {
		return "n/a"
	}
	b := median(row.ns)
	if own <= b {
		return fmt.Sprintf("%s, %s, n/a", ns(own-b), ns(other-b))
	}
	return fmt.Sprintf("%s, %s, %.1fx", ns(own-b), ns(other-b), (other-b)/(own-b))
}

// above returns how much own ns/op exceeds the floor row k.
func above(res *results, k key, own float64) string {
	floor, ok := res.samples[k]
	if !ok {
		return "n/a"
	}
	return ns(own - median(floor.ns))
}

// ratioTo returns the median ns/op of s over that of the baseline row k.
func ratioTo(res *results, s *sample, k key) string {
	base, ok := res.samples[k]
	if !ok || median(base.ns) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", median(s.ns)/median(base.ns))
}

// runs returns the fewest runs of any row.
func runs(res *results) int {
	n := -1
	for _, s := range res.samples {
		if n < 0 || len(s.ns) < n {
			n = len(s.ns)
		}
	}
	return n
}

func ns(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func count(v float64) string {
	if v < 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

func labels(v float64) string {
	if v == 0 {
		return "0 (unmatched not recorded)"
	}
	return count(v)
}
