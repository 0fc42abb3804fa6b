package logging

import (
	"context"
	"log/slog"
)

// New returns a logger writing JSON lines (format "json") or logfmt-style
// text lines (format "text") to out, dropping records below level.
// Records at slog.LevelWarn and above flush out at once, with every line
// buffered before them: warnings and errors are never held back, and never
// lost by a crash that follows them.
func New(out *Output, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	h := &handler{out: out, json: format != "text"}
	if h.json {
		h.next = slog.NewJSONHandler(out, opts)
	} else {
		h.next = slog.NewTextHandler(out, opts)
	}
	h.direct = h.json
	return slog.New(h)
}

// handler is slog's JSON or text handler writing to an Output, flushing it
// after warnings and errors.
type handler struct {
	next   slog.Handler
	out    *Output
	json   bool
	direct bool // json, and no attributes or groups were added: lines may be written directly
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.next.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.out.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	c := *h
	c.next, c.direct = h.next.WithAttrs(as), false
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next, c.direct = h.next.WithGroup(name), false
	return &c
}

// Direct returns the Output behind l and true when l is a JSON logger from
// New with no attributes or groups added, so that a line built with
// AppendLineStart, AppendString and the others, and written to the Output,
// is byte for byte the line that l would write for the same record.
// Records below level must not be written: Enabled says which are.
func Direct(l *slog.Logger) (*Output, bool) {
	h, ok := l.Handler().(*handler)
	if !ok || !h.direct {
		return nil, false
	}
	return h.out, true
}
