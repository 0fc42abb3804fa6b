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
