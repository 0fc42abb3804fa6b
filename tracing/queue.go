package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// maxBatch is the most spans sent in one export request.
const maxBatch = 512

// queueOptions size and time the export queue.
type queueOptions struct {
	size    int           // spans waiting for export
	delay   time.Duration // longest wait before a batch is exported
	timeout time.Duration // longest time one export may take
}

// queue is the span processor between the requests and the exporter. A
// request that ends a span only offers it to a bounded channel: when the
// channel is full the span is dropped and counted, so that a slow or
// unreachable collector never slows a request and memory stays bounded.
// One goroutine takes spans off the channel and exports them in batches.
//
// The SDK's own batch processor drops spans the same way but counts them
// only in its internal telemetry; this one counts them in the service's
// registry, next to the request metrics.
type queue struct {
	exporter sdktrace.SpanExporter
	opts     queueOptions
	logger   *slog.Logger
	spans    chan sdktrace.ReadOnlySpan
	flush    chan chan struct{}
	stopping chan struct{}      // closed by Shutdown
	done     chan struct{}      // closed when run returns
	cancel   context.CancelFunc // cancels the exports when Shutdown gives up
	stop     sync.Once
	failing  bool // the last export failed; read and written by run only

	dropped, exported, failed prometheus.Counter
}

func newQueue(ctx context.Context, exporter sdktrace.SpanExporter, opts queueOptions, reg prometheus.Registerer, logger *slog.Logger) (*queue, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q := &queue{
		exporter: exporter,
		opts:     opts,
		logger:   logger,
		spans:    make(chan sdktrace.ReadOnlySpan, opts.size),
		flush:    make(chan chan struct{}),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		cancel:   cancel,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracing_spans_dropped_total",
			Help: "Finished spans dropped because the export queue was full (OTEL_BSP_MAX_QUEUE_SIZE) or tracing had shut down.",
		}),
		exported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracing_spans_exported_total",
			Help: "Spans the collector accepted.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracing_spans_export_failed_total",
			Help: "Spans lost because their export failed or timed out (OTEL_EXPORTER_OTLP_TIMEOUT).",
		}),
	}
	length := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tracing_export_queue_spans",
		Help: "Finished spans waiting in the export queue.",
	}, func() float64 { return float64(len(q.spans)) })
	for _, c := range []prometheus.Collector{q.dropped, q.exported, q.failed, length} {
		if err := reg.Register(c); err != nil {
			cancel()
			return nil, fmt.Errorf("registering tracing metrics: %w", err)
		}
	}
	go q.run(ctx)
	return q, nil
}

// OnStart implements sdktrace.SpanProcessor; nothing happens at a start.
func (q *queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it queues a sampled span for
// export without ever waiting.
func (q *queue) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	select {
	case <-q.stopping:
		q.dropped.Inc()
		return
	default:
	}
	select {
	case q.spans <- s:
	default:
		q.dropped.Inc()
	}
}

// ForceFlush implements sdktrace.SpanProcessor: it exports every span
// queued so far, waiting at most until ctx is done.
func (q *queue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flush <- ack:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown implements sdktrace.SpanProcessor: it exports the spans queued
// so far and shuts the exporter down. When ctx is done first, the export
// under way is cancelled and what is left is dropped.
func (q *queue) Shutdown(ctx context.Context) error {
	q.stop.Do(func() { close(q.stopping) })
	var err error
	select {
	case <-q.done:
	case <-ctx.Done():
		q.cancel()
		<-q.done
		err = fmt.Errorf("spans left unexported: %w", ctx.Err())
	}
	q.cancel()
	return errors.Join(err, q.exporter.Shutdown(ctx))
}

// run exports batches until Shutdown: a batch goes when it is full, when
// the oldest span in it has waited opts.delay, and on a flush.
func (q *queue) run(ctx context.Context) {
	defer close(q.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, min(maxBatch, q.opts.size))
	timer := time.NewTimer(q.opts.delay)
	defer timer.Stop()
	for {
		select {
		case s := <-q.spans:
			if len(batch) == 0 {
				timer.Reset(q.opts.delay)
			}
			batch = append(batch, s)
			if len(batch) == cap(batch) {
				batch = q.export(ctx, batch)
			}
		case <-timer.C:
			batch = q.export(ctx, batch)
		case ack := <-q.flush:
			batch = q.drain(ctx, batch)
			close(ack)
		case <-q.stopping:
			q.drain(ctx, batch)
			return
		}
	}
}

// drain exports batch and every span queued, stopping early when the
// exports are cancelled; what is left then is counted as dropped.
func (q *queue) drain(ctx context.Context, batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	for {
		select {
		case s := <-q.spans:
			batch = append(batch, s)
			if len(batch) < cap(batch) {
				continue
			}
		default:
		}
		batch = q.export(ctx, batch)
		if len(q.spans) == 0 {
			return batch
		}
		if ctx.Err() != nil {
			q.dropped.Add(float64(len(q.spans)))
			return batch
		}
	}
}

// export sends batch and returns it emptied.
func (q *queue) export(ctx context.Context, batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(ctx, q.opts.timeout)
	err := q.exporter.ExportSpans(ctx, batch)
	cancel()
	n := float64(len(batch))
	switch {
	case err != nil:
		q.failed.Add(n)
		if !q.failing {
			q.logger.Warn("tracing: exporting spans failed; spans are lost until the collector answers",
				slog.Int("spans", len(batch)), slog.String("error", err.Error()))
		}
		q.failing = true
	default:
		q.exported.Add(n)
		if q.failing {
			q.logger.Info("tracing: exporting spans works again")
		}
		q.failing = false
	}
	clear(batch) // the spans may be collected
	return batch[:0]
}
