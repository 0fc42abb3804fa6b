package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"syscall"

	"github.com/gin-gonic/gin"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/apierror"
)

// PanicCounter counts recovered panics by route template.
type PanicCounter interface {
	Panic(route string)
}

// Recovery returns a middleware that turns a panic in the rest of the chain
// into a 500 with the JSON error (when nothing was written yet), logs the
// panic value and stack with the request ID, counts it in panics and keeps
// the server serving. The client never sees the stack.
//
// A client that went away (http.ErrAbortHandler, a broken pipe or a reset
// connection during a write) is not a server error: it is marked 499, not
// logged as an error and not counted. http.ErrAbortHandler is re-raised so
// that net/http aborts the connection as the handler asked; so is any panic
// after the response was started, so that the client sees a truncated
// response fail instead of taking it for a complete one.
func Recovery(logger *slog.Logger, panics PanicCounter) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				recovered(c, logger, panics, v)
			}
		}()
		c.Next()
	}
}

func recovered(c *gin.Context, logger *slog.Logger, panics PanicCounter, v any) {
	if clientGone(v) {
		c.Status(apierror.StatusClientClosedRequest)
		logger.LogAttrs(c.Request.Context(), slog.LevelDebug, "client went away",
			slog.String("request_id", RequestIDOf(c)),
			slog.String("route", c.FullPath()),
			slog.String("reason", fmt.Sprint(v)))
		if v == http.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked as is.
			panic(v)
		}
		c.Abort()
		return
	}
	panics.Panic(c.FullPath())
	stack := string(debug.Stack())
	attrs := []slog.Attr{slog.String("request_id", RequestIDOf(c))}
	attrs = append(attrs, spanContextAttrs(spanContextOf(c))...)
	attrs = append(attrs,
		slog.String("method", c.Request.Method),
		slog.String("route", c.FullPath()),
		slog.String("panic", fmt.Sprint(v)),
		slog.String("stack", stack))
	logger.LogAttrs(c.Request.Context(), slog.LevelError, "panic recovered", attrs...)
	// The server span (when the request is traced) ends as a 500 from its
	// status; the exception event says why.
	trace.SpanFromContext(c.Request.Context()).RecordError(
		fmt.Errorf("panic: %v", v), trace.WithAttributes(semconv.ExceptionStacktrace(stack)))
	if c.Writer.Written() {
		panic(http.ErrAbortHandler)
	}
	apierror.Abort(c, apierror.New(apierror.CodeInternal, "internal server error"))
}

// clientGone reports whether a panic value means that the client went away
// rather than that the server failed.
func clientGone(v any) bool {
	err, ok := v.(error)
	if !ok {
		return false
	}
	return errors.Is(err, http.ErrAbortHandler) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET)
}
