package deploy

import (
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
)

// listeners builds the service's two handlers as run does with cfg, keyed
// by the port each listens on: the public engine on HTTP_ADDR's port and
// the admin handler on ADMIN_ADDR's. ready is what /readyz reports; false
// is the state from the moment shutdown begins.
func listeners(tb testing.TB, cfg config.Config, ready bool) map[int]http.Handler {
	tb.Helper()
	gin.SetMode(gin.TestMode) // no route table on stdout
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{NativeHistograms: cfg.NativeHistograms})
	if err != nil {
		tb.Fatal(err)
	}
	public, err := routes.New(routes.Deps{
		Logger:         slog.New(slog.DiscardHandler),
		Metrics:        m,
		Items:          controllers.NewMemoryItems(),
		Ready:          func() bool { return ready },
		MaxBodyBytes:   cfg.MaxBodyBytes,
		TrustedProxies: cfg.TrustedProxies,
		DemoEndpoints:  cfg.DemoEndpoints,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return map[int]http.Handler{
		addrPort(tb, cfg.HTTPAddr):  public,
		addrPort(tb, cfg.AdminAddr): routes.Admin(routes.AdminDeps{Registerer: reg, Gatherer: reg}),
	}
}

// get returns the status of GET path on the listener of port.
func get(tb testing.TB, handlers map[int]http.Handler, port int, path string) int {
	tb.Helper()
	h, ok := handlers[port]
	if !ok {
		tb.Fatalf("nothing listens on port %d (listeners: %v)", port, slices.Sorted(maps.Keys(handlers)))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// probePort returns the container port number a probe calls, resolving a
// port name.
func probePort(tb testing.TB, c container, port any) int {
	tb.Helper()
	switch p := port.(type) {
	case int:
		return p
	case string:
		return c.port(tb, p)
	}
	tb.Fatalf("probe port %v is neither a number nor a name", port)
	return 0
}

// checkPortsAndProbes checks that the container ports are the ones the
// service listens on, that the Service exposes them by name, and that each
// probe calls a path the public listener serves, answering as the probe
// needs: liveness stays 200 while draining (or kubelet would kill a pod that
// is finishing its requests), readiness turns 503.
func checkPortsAndProbes(tb testing.TB, objs objects, c container, cfg config.Config) {
	tb.Helper()
	if got, want := c.port(tb, portHTTP), addrPort(tb, cfg.HTTPAddr); got != want {
		tb.Errorf("container port %q is %d, but HTTP_ADDR listens on %d", portHTTP, got, want)
	}
	if got, want := c.port(tb, portMetrics), addrPort(tb, cfg.AdminAddr); got != want {
		tb.Errorf("container port %q is %d, but ADMIN_ADDR listens on %d", portMetrics, got, want)
	}
	checkService(tb, objs, c)

	serving, draining := listeners(tb, cfg, true), listeners(tb, cfg, false)
	probes := []struct {
		name                        string
		probe                       *probe
		wantServing, wantWhenDrains int
	}{
		{"startupProbe", c.StartupProbe, http.StatusOK, 0},
		{"livenessProbe", c.LivenessProbe, http.StatusOK, http.StatusOK},
		{"readinessProbe", c.ReadinessProbe, http.StatusOK, http.StatusServiceUnavailable},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			tb.Errorf("%s: want an httpGet probe", p.name)
			continue
		}
		port, path := probePort(tb, c, p.probe.HTTPGet.Port), p.probe.HTTPGet.Path
		if port != c.port(tb, portHTTP) {
			tb.Errorf("%s calls port %d, want the public port %q: the one clients depend on", p.name, port, portHTTP)
		}
		if got := get(tb, serving, port, path); got != p.wantServing {
			tb.Errorf("%s: GET %s on port %d answers %d while serving, want %d", p.name, path, port, got, p.wantServing)
		}
		if p.wantWhenDrains == 0 {
			continue
		}
		if got := get(tb, draining, port, path); got != p.wantWhenDrains {
			tb.Errorf("%s: GET %s on port %d answers %d during shutdown, want %d", p.name, path, port, got, p.wantWhenDrains)
		}
	}
}

// service is the part of a Service the tests read.
type service struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []servicePort     `yaml:"ports"`
	} `yaml:"spec"`
}

type servicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort any    `yaml:"targetPort"` // a port name or number
}

// checkService checks that the Service selects the pods and exposes the
// container ports http and metrics under the same names.
func checkService(tb testing.TB, objs objects, c container) {
	tb.Helper()
	var svc service
	objs.get(tb, "Service", appName).decode(tb, &svc)
	var d deployment
	objs.get(tb, "Deployment", appName).decode(tb, &d)
	if !selects(svc.Spec.Selector, d.Spec.Template.Metadata.Labels) {
		tb.Errorf("Service selector %v does not select the pods (labels %v)", svc.Spec.Selector, d.Spec.Template.Metadata.Labels)
	}
	for _, name := range []string{portHTTP, portMetrics} {
		i := slices.IndexFunc(svc.Spec.Ports, func(p servicePort) bool { return p.Name == name })
		if i < 0 {
			tb.Errorf("Service has no port named %q", name)
			continue
		}
		if got, want := probePort(tb, c, svc.Spec.Ports[i].TargetPort), c.port(tb, name); got != want {
			tb.Errorf("Service port %q targets container port %d, want %d", name, got, want)
		}
	}
}

// selects reports whether a matchLabels selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false // an empty selector here is a mistake, not "everything"
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkRuntimeLimits checks that GOMAXPROCS follows the CPU limit and that
// GOMEMLIMIT leaves the runtime about a tenth of the memory limit as
// headroom: at the limit itself the kernel kills the pod before the Go
// garbage collector reacts.
func checkRuntimeLimits(tb testing.TB, c container) {
	tb.Helper()
	vars := map[string]envVar{}
	for _, e := range c.Env {
		vars[e.Name] = e
	}
	procs := vars["GOMAXPROCS"]
	if procs.ValueFrom == nil || procs.ValueFrom.ResourceFieldRef == nil ||
		procs.ValueFrom.ResourceFieldRef.Resource != "limits.cpu" ||
		(procs.ValueFrom.ResourceFieldRef.Divisor != "" && procs.ValueFrom.ResourceFieldRef.Divisor != "1") {
		tb.Errorf("GOMAXPROCS must come from resourceFieldRef limits.cpu with divisor 1, got %+v", procs)
	}
	if c.Resources.Limits["cpu"] == "" {
		tb.Error("limits.cpu is not set, so GOMAXPROCS would be the node's CPU count")
	}
	limit, err := parseQuantity(c.Resources.Limits["memory"])
	if err != nil {
		tb.Fatalf("limits.memory: %v", err)
	}
	soft, err := parseByteCount(vars["GOMEMLIMIT"].Value)
	if err != nil {
		tb.Fatalf("GOMEMLIMIT: %v", err)
	}
	if ratio := float64(soft) / float64(limit); ratio < 0.80 || ratio > 0.95 {
		tb.Errorf("GOMEMLIMIT %s is %.0f%% of limits.memory %s, want 80-95%%: change the two together",
			vars["GOMEMLIMIT"].Value, 100*ratio, c.Resources.Limits["memory"])
	}
}

// parseQuantity returns the value of a Kubernetes memory quantity such as
// 256Mi or 1G, in bytes.
func parseQuantity(q string) (int64, error) {
	units := []struct {
		suffix string
		factor float64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"", 1},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(q, u.suffix); ok {
			n, err := strconv.ParseFloat(num, 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%q is not a quantity such as 256Mi", q)
			}
			return int64(math.Round(n * u.factor)), nil
		}
	}
	return 0, fmt.Errorf("%q is not a quantity such as 256Mi", q)
}

// parseByteCount parses a byte count as the Go runtime reads GOMEMLIMIT: a
// whole number with an optional unit B, KiB, MiB, GiB or TiB.
func parseByteCount(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%q is not a byte count such as 230MiB", s)
			}
			return n * u.factor, nil
		}
	}
	return 0, fmt.Errorf("%q is not a byte count such as 230MiB", s)
}

func TestQuantityParsers(t *testing.T) {
	tests := []struct {
		in      string
		parse   func(string) (int64, error)
		want    int64
		wantErr bool
	}{
		{"256Mi", parseQuantity, 256 << 20, false},
		{"1Gi", parseQuantity, 1 << 30, false},
		{"0.5Gi", parseQuantity, 512 << 20, false},
		{"500M", parseQuantity, 500e6, false},
		{"1048576", parseQuantity, 1 << 20, false},
		{"256MiB", parseQuantity, 0, true},
		{"230MiB", parseByteCount, 230 << 20, false},
		{"1GiB", parseByteCount, 1 << 30, false},
		{"241172480", parseByteCount, 241172480, false},
		{"230Mi", parseByteCount, 0, true},
		{"", parseByteCount, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.parse(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parse(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
