package main

import (
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
cpu: Test CPU
BenchmarkStacks/bare-gin/get-param-2         	 2707000	        40.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkStacks/bare-gin/get-param-2         	 3075628	        50.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkStacks/bare-gin/get-param-2         	 3075628	        30.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkStacks/clock-floor/get-param-2      	 1726120	       100.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkStacks/ginstarter/get-param-2       	  726120	       200.0 ns/op	         1.000 route-labels	 1.000 param-labels	       0 B/op	       0 allocs/op
BenchmarkStacks/zsais-go-gin-prometheus/get-param-2 	  726120	  1000 ns/op	  100.0 route-labels	  100.0 param-labels	  75 B/op	  4 allocs/op
BenchmarkStacks/slok-go-http-metrics/get-param-2 	  726120	  500 ns/op	  1.000 route-labels	  11 B/op	  2 allocs/op
BenchmarkStacks/bare-gin/unmatched-404-2         	 2707000	        40.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkStacks/ginstarter/unmatched-404-2       	  726120	       200.0 ns/op	         1.000 route-labels	 1.000 param-labels	       0 B/op	       0 allocs/op
BenchmarkStacks/depado-ginprom/unmatched-404-2 	  726120	  100 ns/op	  0 route-labels	  0 B/op	  0 allocs/op
BenchmarkStacks/slok-go-http-metrics/unmatched-404-2 	  726120	  400 ns/op	  1.000 route-labels	  11 B/op	  2 allocs/op
PASS
`

func TestReport(t *testing.T) {
	var out strings.Builder
	if err := run(strings.NewReader(sampleOutput), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"| bare gin (`gin.New()`) | get-param | 40.0 | 50% | 0 | 0 | 1.00x | – | – |",
		"| **this project**: metrics + recovery | get-param | 200 | 0% | 0 | 0 | 5.00x | 1 | 1 |",
		"| zsais/go-gin-prometheus + gin.Recovery | get-param | 1000 | 0% | 75 | 4 | 25.00x | 100 | 100 |",
		"| floor: two monotonic clock reads + gin.Recovery, records nothing | get-param | 100 | 0% | 0 | 0 | 2.50x | – | – |",
		// Over bare gin (40 ns) this project adds 160 ns and slok 460 ns;
		// the project is 100 ns above the floor.
		"| get-param | 200 | slok/go-http-metrics (gin) + gin.Recovery | 500 | 2.50x | 160, 460, 2.9x | 100 |",
		// ginprom records no unmatched request, so it is no alternative
		// there; this route has no floor row.
		"| unmatched-404 | 200 | slok/go-http-metrics (gin) + gin.Recovery | 400 | 2.00x | 160, 360, 2.2x | n/a |",
		"| Depado/ginprom + gin.Recovery | unmatched-404 | 100 | 0% | 0 | 0 | 2.50x | 0 (unmatched not recorded) | – |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q; got:\n%s", want, got)
		}
	}
}

func TestReportRejectsEmptyInput(t *testing.T) {
	if err := run(strings.NewReader("PASS\n"), &strings.Builder{}); err == nil {
		t.Error("no error for input without benchmark lines")
	}
}

const tracingOutput = `goos: linux
cpu: Test CPU
BenchmarkTracing/ginstarter-metrics-recovery/get-param/no-parent-2         	   20000	       100.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkTracing/ginstarter-metrics-recovery/get-param/no-parent-2         	   20000	       120.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkTracing/ginstarter-tracing-unsampled/get-param/no-parent-2        	   20000	       300.0 ns/op	     464 B/op	       3 allocs/op
BenchmarkTracing/ginstarter-tracing-unsampled/get-param/no-parent-2        	   20000	       300.0 ns/op	     464 B/op	       3 allocs/op
BenchmarkTracing/ginstarter-tracing-sampled/get-param/no-parent-2          	   20000	      2000 ns/op	    3384 B/op	      12 allocs/op
BenchmarkTracing/otelgin-noop/get-param/no-parent-2                        	   20000	      1000 ns/op	    2840 B/op	      20 allocs/op
BenchmarkTracing/otelgin-unsampled/get-param/no-parent-2                   	   20000	      1210 ns/op	    4600 B/op	      23 allocs/op
BenchmarkTracing/otelgin-sampled/get-param/no-parent-2                     	   20000	      3000 ns/op	    7777 B/op	      29 allocs/op
BenchmarkTracing/ginstarter-tracing-unsampled/unmatched-404/sampled-parent-2	   20000	       500 ns/op	     592 B/op	       5 allocs/op
BenchmarkTracing/otelgin-unsampled/unmatched-404/sampled-parent-2          	   20000	      1000 ns/op	    4744 B/op	      10 allocs/op
PASS
`

func TestReportTracing(t *testing.T) {
	var out strings.Builder
	if err := run(strings.NewReader(tracingOutput), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"cpu: Test CPU",
		// The baseline's median is 110 ns.
		"| this project's metrics + recovery, no tracing (baseline) | get-param/no-parent | 110 | 18% | 0 | 0 | 0.0, 1.00x |",
		"| **this project**: Tracing, unsampled + metrics (exemplars on) + recovery | get-param/no-parent | 300 | 0% | 464 | 3 | 190, 2.73x |",
		"| otelgin, sampled + metrics + recovery | get-param/no-parent | 3000 | 0% | 7777 | 29 | 2890, 27.27x |",
		// Unsampled: 300 / 1210 ns and 3 / 23 allocations are both
		// below half; over the baseline 190 and 1100 ns.
		"| get-param/no-parent | unsampled | 300 | 1210 | 0.25 | 3 | 23 | 0.13 | yes | 190, 1100, 5.8x |",
		// Sampled: 2000 / 3000 ns is not below half.
		"| get-param/no-parent | sampled | 2000 | 3000 | 0.67 | 12 | 29 | 0.41 | no | 1890, 2890, 1.5x |",
		// Allocations at exactly half are not below half; no baseline.
		"| unmatched-404/sampled-parent | unsampled | 500 | 1000 | 0.50 | 5 | 10 | 0.50 | no | n/a |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ratio to bare gin") {
		t.Errorf("tracing-only input produced the BenchmarkStacks table:\n%s", got)
	}
}

// TestReportBoth checks that BenchmarkTracing lines in the output of a whole
// run (-bench .) leave the BenchmarkStacks tables as they are and add the
// tracing tables after them.
func TestReportBoth(t *testing.T) {
	var stacksOnly, both strings.Builder
	if err := run(strings.NewReader(sampleOutput), &stacksOnly); err != nil {
		t.Fatal(err)
	}
	if err := run(strings.NewReader(sampleOutput+tracingOutput), &both); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(both.String(), stacksOnly.String()) {
		t.Errorf("the BenchmarkStacks tables changed:\n%s\nwant them to start with:\n%s", both.String(), stacksOnly.String())
	}
	if !strings.Contains(both.String(), "| get-param/no-parent | unsampled | 300 | 1210 |") {
		t.Errorf("no tracing table after the BenchmarkStacks tables:\n%s", both.String())
	}
}
