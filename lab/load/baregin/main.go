// Command baregin is the baseline of the load measurements: a bare gin
// engine (gin.New in release mode, no middleware) serving the service's own
// item handlers, controllers.CreateItem and controllers.GetItem on a
// controllers.NewMemoryItems store, so that the handler code is the same as
// in the service and only the middleware and the server settings differ.
//
// Usage:
//
//	baregin -addr 127.0.0.1:18081 [-timeouts] [-admin 127.0.0.1:18082]
//
// With -timeouts the http.Server gets the service's default timeouts and
// header limit, so that their cost can be told apart from the middleware's.
// With -admin a second listener serves /metrics (the Go and process
// collectors, as the service's admin listener has them) and
// /debug/pprof/profile, so that allocations, GC cycles and CPU profiles are
// read from both servers the same way; it is off the measured path.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/controllers"
)

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
	if err := fs.Parse(args); err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	store := controllers.NewMemoryItems()
	items, err := controllers.NewItemMetrics(nil) // counted, registered nowhere
	if err != nil {
		return err
	}
	e := gin.New()
	e.POST("/v1/items", controllers.CreateItem(store, items))
	e.GET("/v1/items/:id", controllers.GetItem(store))
	// Without -timeouts, the server is net/http's zero value, as gin's
	// engine.Run builds it: the baseline that the service is compared with.
	srv := &http.Server{Addr: *addr, Handler: e} //nolint:gosec // the bare baseline (G112)
	if *timeouts {
		// The defaults of config.Load, set as server.Run's newServer sets them.
		cfg, err := config.Load(func(string) string { return "" })
		if err != nil {
			return fmt.Errorf("loading the default configuration: %w", err)
		}
		srv.ReadHeaderTimeout = cfg.ReadHeaderTimeout
		srv.ReadTimeout = cfg.ReadTimeout
		srv.WriteTimeout = cfg.WriteTimeout
		srv.IdleTimeout = cfg.IdleTimeout
		srv.MaxHeaderBytes = cfg.MaxHeaderBytes
	}
	errc := make(chan error, 2)
	if *admin != "" {
		go func() { errc <- fmt.Errorf("admin: %w", serveAdmin(*admin)) }()
	}
	go func() { errc <- fmt.Errorf("serving: %w", srv.ListenAndServe()) }()
	return <-errc
}

// serveAdmin serves the Go and process collectors and the CPU profile on
// addr until it fails.
func serveAdmin(addr string) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}
