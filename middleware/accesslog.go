package middleware

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
)

// AccessLog returns a middleware that logs one line per request at info
// level, or at debug level for the routes in quiet (health probes), so that
// probes do not drown the log. It logs from a defer, so a request whose
// connection was aborted is logged too.
func AccessLog(logger *slog.Logger, quiet ...string) gin.HandlerFunc {
	quietRoutes := make(map[string]bool, len(quiet))
	for _, r := range quiet {
		quietRoutes[r] = true
	}
	return func(c *gin.Context) {
		level := slog.LevelInfo
		if quietRoutes[c.FullPath()] {
			level = slog.LevelDebug
		}
		if !logger.Enabled(c.Request.Context(), level) {
			c.Next()
			return
		}
		start := time.Now()
		defer func() { logRequest(logger, level, c, time.Since(start)) }()
		c.Next()
	}
}

func logRequest(logger *slog.Logger, level slog.Level, c *gin.Context, d time.Duration) {
	size := c.Writer.Size()
	if size < 0 { // nothing written (204, HEAD, aborted)
		size = 0
	}
	attrs := []slog.Attr{
		slog.String("request_id", RequestIDOf(c)),
		slog.String("method", c.Request.Method),
		slog.String("route", c.FullPath()),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Float64("duration_seconds", d.Seconds()),
		slog.Int("bytes", size),
		slog.String("client_ip", c.ClientIP()),
	}
	if len(c.Errors) > 0 {
		attrs = append(attrs, slog.String("errors", c.Errors.String()))
	}
	logger.LogAttrs(c.Request.Context(), level, "request", attrs...)
}
