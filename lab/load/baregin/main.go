// Command baregin is the baseline of the load measurements: a bare gin
// engine (gin.New in release mode, no middleware) serving the service's own
// item handlers, controllers.CreateItem and controllers.GetItem on a
// controllers.NewMemoryItems store, so that the handler code is the same as
// in the service and only the middleware and the server settings differ.
//
// Usage:
//
//	baregin -addr 127.0.0.1:18081 [-timeouts] [-admin 127.0.0.1:18082] [-middleware LIST]
//
// With -timeouts the http.Server gets the service's default timeouts and
// header limit, so that their cost can be told apart from the middleware's.
// With -admin a second listener serves /metrics (the Go and process
// collectors, as the service's admin listener has them) and
// /debug/pprof/profile, so that allocations, GC cycles and CPU profiles are
// read from both servers the same way; it is off the measured path.
//
// With -middleware the engine gets the service's engine settings and the
// named pieces of the service's middleware, in the service's order
// (requestid, secure, accesslog, metrics, recovery, bodylimit; "all" for
// every one), with the service's JSON logger at LOG_LEVEL=warn (no access
// lines) writing to stdout: what each piece costs under load, told apart
// from the service's process.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/logging"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
)

// pieces are the service's middleware, in the order routes.Middleware
// chains them.
var pieces = []string{"requestid", "secure", "accesslog", "metrics", "recovery", "bodylimit"}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// run serves until the process is killed. By default the server is a plain
// http.Server with no timeouts, as gin's engine.Run would start it.
func run(args []string) error {
	fs := flag.NewFlagSet("baregin", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18081", "listen address, host:port")
	timeouts := fs.Bool("timeouts", false, "set the service's default server timeouts and header limit")
	admin := fs.String("admin", "", "listen address of /metrics and /debug/pprof/profile; empty: none")
	chain := fs.String("middleware", "", "comma-separated pieces of the service's middleware ("+strings.Join(pieces, ", ")+"), or all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return fmt.Errorf("loading the default configuration: %w", err)
	}
	reg := prometheus.NewRegistry()
	e := gin.New()
	if *chain != "" {
		if err := useMiddleware(e, *chain, reg, cfg); err != nil {
			return err
		}
	} else {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	store := controllers.NewMemoryItems()
	items, err := controllers.NewItemMetrics(nil) // counted, registered nowhere
	if err != nil {
		return err
	}
	e.POST("/v1/items", controllers.CreateItem(store, items))
	e.GET("/v1/items/:id", controllers.GetItem(store))
	// Without -timeouts, the server is net/http's zero value, as gin's
	// engine.Run builds it: the baseline that the service is compared with.
	srv := &http.Server{Addr: *addr, Handler: e} //nolint:gosec // the bare baseline (G112)
	if *timeouts {
		// The defaults of config.Load, set as server.Run's newServer sets them.
		srv.ReadHeaderTimeout = cfg.ReadHeaderTimeout
		srv.ReadTimeout = cfg.ReadTimeout
		srv.WriteTimeout = cfg.WriteTimeout
		srv.IdleTimeout = cfg.IdleTimeout
		srv.MaxHeaderBytes = cfg.MaxHeaderBytes
	}
	errc := make(chan error, 2)
	if *admin != "" {
		go func() { errc <- fmt.Errorf("admin: %w", serveAdmin(*admin, reg)) }()
	}
	go func() { errc <- fmt.Errorf("serving: %w", srv.ListenAndServe()) }()
	return <-errc
}

// useMiddleware gives e the service's engine settings (as routes.New sets
// them) and the pieces of its middleware named in list, in the service's
// order.
func useMiddleware(e *gin.Engine, list string, reg *prometheus.Registry, cfg config.Config) error {
	names := strings.Split(list, ",")
	if list == "all" {
		names = pieces
	}
	for _, n := range names {
		if !slices.Contains(pieces, n) {
			return fmt.Errorf("-middleware: unknown piece %q; want some of %s, or all", n, strings.Join(pieces, ", "))
		}
	}
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(nil); err != nil {
		return err
	}
	logger := logging.New(logging.NewOutput(os.Stdout, cfg.LogFlushInterval), "json", slog.LevelWarn)
	m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{}) // also registers the Go and process collectors
	if err != nil {
		return err
	}
	probes := []string{"/healthz", "/readyz"}
	for _, p := range pieces {
		if !slices.Contains(names, p) {
			continue
		}
		switch p {
		case "requestid":
			e.Use(middleware.RequestID())
		case "secure":
			e.Use(middleware.SecureHeaders())
		case "accesslog":
			e.Use(middleware.AccessLog(logger, probes...))
		case "metrics":
			e.Use(middleware.Metrics(m, probes...))
		case "recovery":
			e.Use(middleware.Recovery(logger, m))
		case "bodylimit":
			e.Use(middleware.BodyLimit(cfg.MaxBodyBytes))
		}
	}
	return nil
}

// serveAdmin serves reg (the Go and process collectors, and the request
// metrics with -middleware) and the CPU profile on addr until it fails.
func serveAdmin(addr string, reg *prometheus.Registry) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}
