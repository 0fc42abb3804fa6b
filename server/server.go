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
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/logging"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
	"github.com/ginstarter/ginstarter/tracing"
)

// adminShutdownTimeout bounds the wait for scrapes in flight at the end.
const adminShutdownTimeout = time.Second

// Run is the whole service: it reads the configuration from getenv, serves
// until ctx is cancelled or SIGINT/SIGTERM arrives, then shuts down
// gracefully. build is what /version and build_info report; logs go to
// stdout, through a buffer (LOG_FLUSH_INTERVAL) that is written out before
// Run returns and before a second signal ends the process.
func Run(ctx context.Context, build buildinfo.Info, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	logOut := logging.NewOutput(stdout, cfg.LogFlushInterval)
	defer logOut.Close() //nolint:errcheck // a log write that fails has nowhere to be reported
	logger := logging.New(logOut, cfg.LogFormat, cfg.LogLevel)
	gin.SetMode(cfg.GinMode)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)

	reg := prometheus.NewRegistry()
	httpMetrics, err := metrics.New(reg, build, metrics.Options{
		NativeHistograms: cfg.NativeHistograms,
		Exemplars:        cfg.Tracing.Enabled(),
	})
	if err != nil {
		return err
	}
	traces, err := tracing.New(ctx, cfg.Tracing, filepath.Base(os.Args[0]), build, reg, logger)
	if err != nil {
		return err
	}
	// On the paths that return early; the graceful path flushes the spans
	// within the shutdown timeout below.
	defer shutdownTracing(ctx, traces, logger)
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
		Tracer:         traces.Tracer(),
		Propagator:     traces.Propagator(),
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
		slog.Bool("tracing", traces.Enabled()),
		slog.String("version", build.Version),
		slog.String("revision", build.Revision))
	// The lines that mark the process's phases are written at once, not
	// after LOG_FLUSH_INTERVAL: an operator or a test waits for them.
	_ = logOut.Flush()

	select {
	case err := <-serveErr:
		closeNow(public, admin)
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	case <-signals:
	}
	done := make(chan struct{})
	defer close(done)
	go exitOnSignal(signals, done, logger, logOut)
	ready.Store(false)
	// Each response now closes its connection, so that clients move to
	// other replicas while this one still answers.
	public.SetKeepAlivesEnabled(false)
	logger.Info("shutdown: draining", slog.Duration("drain_delay", cfg.ShutdownDrainDelay))
	_ = logOut.Flush()
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
	_ = logOut.Flush()
	publicErr := public.Shutdown(shutdownCtx)
	// The spans of the requests that finished are exported within what is
	// left of the shutdown timeout.
	if err := traces.Shutdown(shutdownCtx); err != nil {
		logger.Warn("shutdown: spans not exported", slog.String("error", err.Error()))
	}
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

// shutdownTracing stops tracing on a path where the graceful shutdown did
// not; a second Shutdown does nothing.
func shutdownTracing(ctx context.Context, traces *tracing.Tracing, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), adminShutdownTimeout)
	defer cancel()
	if err := traces.Shutdown(ctx); err != nil {
		logger.Warn("spans not exported", slog.String("error", err.Error()))
	}
}

// exitOnSignal waits for a second SIGINT or SIGTERM until done is closed.
// The second signal ends the process at once, as Go's default action does,
// but only after the buffered log lines are written: the access lines of
// requests that finished during the drain are not lost.
func exitOnSignal(signals <-chan os.Signal, done <-chan struct{}, logger *slog.Logger, out *logging.Output) {
	select {
	case s := <-signals:
		logger.Warn("shutdown: second signal, exiting now", slog.String("signal", s.String()))
		_ = out.Flush() // the process ends next; there is nowhere to report a failed write
		sig, _ := s.(syscall.Signal)
		signal.Reset(sig)
		_ = syscall.Kill(syscall.Getpid(), sig)
	case <-done:
	}
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
