// Package logging is where the service's log lines go: one buffered
// Output for every line, a slog.Logger that writes warnings and errors at
// once, and the JSON encoding that lets the access log write its line
// without building a slog.Record.
package logging

import (
	"io"
	"sync"
	"time"
)

// BufferSize is how many bytes of lines an Output holds before it writes
// them out.
const BufferSize = 64 << 10

// Output buffers log lines in memory and writes them to the underlying
// writer in batches: when the buffer is full, at most FlushInterval after a
// line was buffered, and on Flush and Close. Under load that is one write(2)
// for hundreds of lines instead of one per line. Lines are written whole and
// in order. A process that dies without Close or Flush (SIGKILL, an
// out-of-memory kill, a crash outside a request) loses what was buffered:
// at most one interval of lines.
//
// An Output with a zero interval writes every line at once.
type Output struct {
	w        io.Writer
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // armed while buf holds lines
	closed bool
}

// NewOutput returns an Output writing to w, holding lines for at most
// interval; 0 writes each line at once.
func NewOutput(w io.Writer, interval time.Duration) *Output {
	o := &Output{w: w, interval: max(interval, 0)}
	if o.interval > 0 {
		o.buf = make([]byte, 0, BufferSize)
		o.timer = time.AfterFunc(time.Hour, func() { _ = o.Flush() })
		o.timer.Stop()
	}
	return o
}

// Write buffers p, which holds whole lines. It never returns an error for a
// buffered line; an error of the underlying writer is returned by the
// Write that flushes, and the lines of that flush are dropped.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer == nil || o.closed {
		return o.w.Write(p)
	}
	if len(o.buf)+len(p) > cap(o.buf) {
		if err := o.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(o.buf) {
			return o.w.Write(p)
		}
	}
	if len(o.buf) == 0 {
		o.timer.Reset(o.interval)
	}
	o.buf = append(o.buf, p...)
	return len(p), nil
}

// Flush writes out what is buffered.
func (o *Output) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

func (o *Output) flushLocked() error {
	if len(o.buf) == 0 {
		return nil
	}
	o.timer.Stop()
	_, err := o.w.Write(o.buf)
	o.buf = o.buf[:0]
	return err
}

// Close flushes the buffer and makes every later Write go straight to the
// underlying writer, so that a line logged after Close is not lost either.
// It does not close the underlying writer.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer == nil || o.closed {
		return nil
	}
	err := o.flushLocked()
	o.closed = true
	return err
}
