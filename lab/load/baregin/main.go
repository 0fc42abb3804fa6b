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
// With -middleware all the handler is the service's own engine (routes.New,
// every route and middleware, its JSON logger at LOG_LEVEL=warn writing to
// stdout); with a list of pieces (requestid, secure, accesslog, metrics,
// recovery, bodylimit), an engine with routes.New's settings and those
// pieces, in the service's order: what each costs under load, told apart
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
	"github.com/ginstarter/ginstarter/routes"
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
	var e *gin.Engine
	if *chain == "" {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		e = gin.New()
		if err := itemRoutes(e); err != nil {
			return err
		}
	} else if e, err = serviceEngine(*chain, reg, cfg); err != nil {
		return err
	}
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

// itemRoutes adds the service's POST /v1/items and GET /v1/items/:id to e.
func itemRoutes(e *gin.Engine) error {
	store := controllers.NewMemoryItems()
	items, err := controllers.NewItemMetrics(nil) // counted, registered nowhere
	if err != nil {
		return err
	}
	e.POST("/v1/items", controllers.CreateItem(store, items))
	e.GET("/v1/items/:id", controllers.GetItem(store))
	return nil
}

// serviceEngine returns, for "all", the service's own engine (routes.New,
// with its default configuration and the JSON logger at warn writing to
// stdout); for a list of pieces, an engine with the settings routes.New
// gives its engine, those pieces of the service's middleware in the
// service's order, and the item routes.
func serviceEngine(list string, reg *prometheus.Registry, cfg config.Config) (*gin.Engine, error) {
	names := strings.Split(list, ",")
	for _, n := range names {
		if n != "all" && !slices.Contains(pieces, n) {
			return nil, fmt.Errorf("-middleware: unknown piece %q; want some of %s, or all", n, strings.Join(pieces, ", "))
		}
	}
	m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{}) // also registers the Go and process collectors
	if err != nil {
		return nil, err
	}
	d := routes.Deps{
		Logger:       logging.New(logging.NewOutput(os.Stdout, cfg.LogFlushInterval), "json", slog.LevelWarn),
		Metrics:      m,
		Items:        controllers.NewMemoryItems(),
		Ready:        func() bool { return true },
		MaxBodyBytes: cfg.MaxBodyBytes,
	}
	service, err := routes.New(d)
	if err != nil || list == "all" {
		return service, err
	}
	e := gin.New()
	e.RedirectTrailingSlash = service.RedirectTrailingSlash
	e.RedirectFixedPath = service.RedirectFixedPath
	e.HandleMethodNotAllowed = service.HandleMethodNotAllowed
	e.ContextWithFallback = service.ContextWithFallback
	if err := e.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, err
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
			e.Use(middleware.AccessLog(d.Logger, probes...))
		case "metrics":
			e.Use(middleware.Metrics(d.Metrics, probes...))
		case "recovery":
			e.Use(middleware.Recovery(d.Logger, d.Metrics))
		case "bodylimit":
			e.Use(middleware.BodyLimit(d.MaxBodyBytes))
		}
	}
	return e, itemRoutes(e)
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
