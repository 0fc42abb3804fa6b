package middleware

import (
	"log/slog"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
)

// AccessLog returns a middleware that logs one line per request at info
// level, or at debug level for the routes in quiet (health probes), so that
// probes do not drown the log. It logs from a defer, so a request whose
// connection was aborted is logged too.
func AccessLog(logger *slog.Logger, quiet ...string) gin.HandlerFunc {
	quiet = slices.Clone(quiet)
	return func(c *gin.Context) {
		level := slog.LevelInfo
		if slices.Contains(quiet, c.FullPath()) {
			level = slog.LevelDebug
		}
		if !logger.Enabled(c.Request.Context(), level) {
			c.Next()
			return
		}
		start := time.Now()
		defer func() { logRequest(logger.Handler(), level, c, start, time.Since(start)) }()
		c.Next()
	}
}

// logRequest hands the record straight to the handler: slog.Logger would
// also capture the caller's program counter, which costs a stack walk per
// request and names only this function.
func logRequest(h slog.Handler, level slog.Level, c *gin.Context, start time.Time, d time.Duration) {
	size := max(c.Writer.Size(), 0) // -1 when nothing was written (204, HEAD, aborted)
	r := slog.NewRecord(start.Add(d), level, "request", 0)
	r.AddAttrs(
		slog.String("request_id", RequestIDOf(c)),
		slog.String("method", c.Request.Method),
		slog.String("route", c.FullPath()),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Int64("duration_us", d.Microseconds()),
		slog.Int("bytes", size),
		slog.String("client_ip", c.ClientIP()),
	)
	if len(c.Errors) > 0 {
		r.AddAttrs(slog.String("errors", c.Errors.String()))
	}
	_ = h.Handle(c.Request.Context(), r) // a log write that fails has nowhere to be reported
}
