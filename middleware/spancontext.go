package middleware

import (
	"context"
	"encoding/hex"
	"log/slog"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/logging"
)

// Log keys of the span context.
const (
	keyTraceID = "trace_id"
	keySpanID  = "span_id"
)

// spanContextOf returns the span context of the request in c: its server
// span's when Tracing traced it, otherwise the caller's span that its
// traceparent header names, so that logs join the caller's trace even with
// tracing off. It is invalid when there is neither.
func spanContextOf(c *gin.Context) trace.SpanContext {
	r := c.Request
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		return sc
	}
	if _, ok := r.Header["Traceparent"]; !ok {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), headerCarrier(r.Header))
	return trace.SpanContextFromContext(ctx)
}

// appendSpanContext appends the trace_id and span_id of sc to a log line,
// when sc is valid.
func appendSpanContext(b []byte, sc trace.SpanContext) []byte {
	if !sc.IsValid() {
		return b
	}
	var buf [32]byte
	tid, sid := sc.TraceID(), sc.SpanID()
	hex.Encode(buf[:], tid[:])
	b = logging.AppendString(b, keyTraceID, string(buf[:]))
	hex.Encode(buf[:16], sid[:])
	return logging.AppendString(b, keySpanID, string(buf[:16]))
}

// spanContextAttrs returns the trace_id and span_id attributes of sc, or
// none when sc is invalid.
func spanContextAttrs(sc trace.SpanContext) []slog.Attr {
	if !sc.IsValid() {
		return nil
	}
	return []slog.Attr{
		slog.String(keyTraceID, sc.TraceID().String()),
		slog.String(keySpanID, sc.SpanID().String()),
	}
}
