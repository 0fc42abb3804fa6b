// Package server runs the service: configuration, listeners, signals and
// graceful shutdown around the engine that routes builds.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
)

// adminShutdownTimeout bounds the wait for scrapes in flight at the end.
const adminShutdownTimeout = time.Second

// Run is the whole service: it reads the configuration from getenv, serves
// until ctx is cancelled or SIGINT/SIGTERM arrives, then shuts down
// gracefully. build is what /version and build_info report; logs go to
// stdout.
func Run(ctx context.Context, build buildinfo.Info, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	logger := newLogger(cfg, stdout)
	gin.SetMode(cfg.GinMode)

	ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()

	reg := prometheus.NewRegistry()
	httpMetrics, err := metrics.New(reg, build, metrics.Options{NativeHistograms: cfg.NativeHistograms})
	if err != nil {
		return err
	}
	var ready atomic.Bool
	engine, err := routes.New(routes.Deps{
		Logger:         logger,
		Metrics:        httpMetrics,
		Build:          build,
		Items:          controllers.NewMemoryItems(),
		Registerer:     reg,
		Ready:          ready.Load,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		MaxInFlight:    cfg.MaxInFlight,
		TrustedProxies: cfg.TrustedProxies,
		DemoEndpoints:  cfg.DemoEndpoints,
	})
	if err != nil {
		return err
	}
	public := newServer(cfg, engine, logger)
	admin := newServer(cfg, routes.Admin(routes.AdminDeps{Registerer: reg, Gatherer: reg, Pprof: cfg.Pprof}), logger)
	if cfg.TLS() {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("loading TLS_CERT_FILE and TLS_KEY_FILE: %w", err)
		}
		public.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	var lc net.ListenConfig
	publicLn, err := lc.Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening on HTTP_ADDR: %w", err)
	}
	adminLn, err := lc.Listen(ctx, "tcp", cfg.AdminAddr)
	if err != nil {
		_ = publicLn.Close() // the listen error is the one to report
		return fmt.Errorf("listening on ADMIN_ADDR: %w", err)
	}
	serveErr := make(chan error, 2)
	go func() {
		if cfg.TLS() {
			serveErr <- public.ServeTLS(publicLn, "", "")
		} else {
			serveErr <- public.Serve(publicLn)
		}
	}()
	go func() { serveErr <- admin.Serve(adminLn) }()
	ready.Store(true)
	logger.Info("serving",
		slog.String("http_addr", publicLn.Addr().String()),
		slog.String("admin_addr", adminLn.Addr().String()),
		slog.Bool("tls", cfg.TLS()),
		slog.Int("max_in_flight", cfg.MaxInFlight),
		slog.Bool("pprof", cfg.Pprof),
		slog.String("version", build.Version),
		slog.String("revision", build.Revision))

	select {
	case err := <-serveErr:
		closeNow(public, admin)
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	// From here a second signal kills the process at once (Go's default).
	stopSignals()
	ready.Store(false)
	// Each response now closes its connection, so that clients move to
	// other replicas while this one still answers.
	public.SetKeepAlivesEnabled(false)
	logger.Info("shutdown: draining", slog.Duration("drain_delay", cfg.ShutdownDrainDelay))
	select {
	case <-time.After(cfg.ShutdownDrainDelay):
	case err := <-serveErr:
		closeNow(public, admin)
		return fmt.Errorf("serving while draining: %w", err)
	}

	// The shutdown deadline must not come from ctx, which is already done.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	logger.Info("shutdown: waiting for requests in flight", slog.Duration("timeout", cfg.ShutdownTimeout))
	publicErr := public.Shutdown(shutdownCtx)
	// The admin server goes last, so that /metrics can be scraped until the
	// last request has finished; it gets its own short deadline because the
	// public shutdown may have used all of the first.
	adminCtx, cancelAdmin := context.WithTimeout(context.WithoutCancel(ctx), adminShutdownTimeout)
	defer cancelAdmin()
	if err := errors.Join(publicErr, admin.Shutdown(adminCtx)); err != nil {
		closeNow(public, admin)
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("shutdown: done")
	return nil
}

// closeNow closes servers at once, on a path that returns an error already:
// that error says what went wrong, and an error from Close adds nothing.
func closeNow(servers ...*http.Server) {
	for _, s := range servers {
		_ = s.Close()
	}
}

// newServer returns an http.Server with every timeout and limit set from cfg.
func newServer(cfg config.Config, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// newLogger returns the service's structured logger, writing to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
