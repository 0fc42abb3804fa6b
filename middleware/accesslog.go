package middleware

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/logging"
)

// AccessLog returns a middleware that logs one line per request at info
// level, or at debug level for the routes in quiet (health probes), so that
// probes do not drown the log. It logs from a defer, so a request whose
// connection was aborted is logged too.
//
// With a JSON logger from logging.New, the line is encoded here and written
// to the logger's buffered output directly: the same bytes as slog would
// write, for a fraction of the CPU. Any other logger gets the line through
// its handler.
func AccessLog(logger *slog.Logger, quiet ...string) gin.HandlerFunc {
	quiet = slices.Clone(quiet)
	out, direct := logging.Direct(logger)
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
		defer func() {
			d := time.Since(start)
			if direct {
				writeLine(out, level, c, start, d)
			} else {
				logRequest(logger.Handler(), level, c, start, d)
			}
		}()
		c.Next()
	}
}

// The access line's message and attributes, in the order they are written.
const (
	lineMsg        = "request"
	keyRequestID   = "request_id"
	keyMethod      = "method"
	keyRoute       = "route"
	keyPath        = "path"
	keyStatus      = "status"
	keyDurationUS  = "duration_us"
	keyBytes       = "bytes"
	keyClientIP    = "client_ip"
	keyErrors      = "errors"
	lineBufferSize = 512
)

// lines holds the buffers that access lines are encoded in.
var lines = sync.Pool{New: func() any { b := make([]byte, 0, lineBufferSize); return &b }}

// writeLine encodes the access line of c and writes it to out.
func writeLine(out *logging.Output, level slog.Level, c *gin.Context, start time.Time, d time.Duration) {
	bp, _ := lines.Get().(*[]byte) // the pool holds nothing else
	b := logging.AppendStart((*bp)[:0], start.Add(d), level, lineMsg)
	b = logging.AppendString(b, keyRequestID, RequestIDOf(c))
	b = appendSpanContext(b, spanContextOf(c))
	b = logging.AppendString(b, keyMethod, c.Request.Method)
	b = logging.AppendString(b, keyRoute, c.FullPath())
	b = logging.AppendString(b, keyPath, c.Request.URL.Path)
	b = logging.AppendInt(b, keyStatus, int64(c.Writer.Status()))
	b = logging.AppendInt(b, keyDurationUS, d.Microseconds())
	b = logging.AppendInt(b, keyBytes, int64(max(c.Writer.Size(), 0))) // -1 when nothing was written (204, HEAD, aborted)
	b = logging.AppendString(b, keyClientIP, c.ClientIP())
	if len(c.Errors) > 0 {
		b = logging.AppendString(b, keyErrors, c.Errors.String())
	}
	b = logging.AppendEnd(b)
	_, _ = out.Write(b)             // a log write that fails has nowhere to be reported
	if cap(b) <= 4*lineBufferSize { // a huge line's buffer is not kept
		*bp = b
		lines.Put(bp)
	}
}

// logRequest hands the record straight to the handler: slog.Logger would
// also capture the caller's program counter, which costs a stack walk per
// request and names only this function.
func logRequest(h slog.Handler, level slog.Level, c *gin.Context, start time.Time, d time.Duration) {
	r := slog.NewRecord(start.Add(d), level, lineMsg, 0)
	r.AddAttrs(slog.String(keyRequestID, RequestIDOf(c)))
	r.AddAttrs(spanContextAttrs(spanContextOf(c))...)
	r.AddAttrs(
		slog.String(keyMethod, c.Request.Method),
		slog.String(keyRoute, c.FullPath()),
		slog.String(keyPath, c.Request.URL.Path),
		slog.Int(keyStatus, c.Writer.Status()),
		slog.Int64(keyDurationUS, d.Microseconds()),
		slog.Int(keyBytes, max(c.Writer.Size(), 0)),
		slog.String(keyClientIP, c.ClientIP()),
	)
	if len(c.Errors) > 0 {
		r.AddAttrs(slog.String(keyErrors, c.Errors.String()))
	}
	_ = h.Handle(c.Request.Context(), r) // a log write that fails has nowhere to be reported
}
