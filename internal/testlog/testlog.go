// Package testlog collects and reads the service's log output in tests:
// a goroutine-safe buffer for a logger or a process's stdout, and a parser
// for slog's JSON and text lines.
package testlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Buffer collects log output. It is safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the complete lines written so far.
func (b *Buffer) Lines() []string {
	s := b.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// Find returns the first line whose msg is msg.
func (b *Buffer) Find(msg string) (Line, bool) {
	for _, s := range b.Lines() {
		if l := Parse(s); l.Get("msg") == msg {
			return l, true
		}
	}
	return nil, false
}

// Last returns the last line whose msg is msg, or nil.
func (b *Buffer) Last(msg string) Line {
	var found Line
	for _, s := range b.Lines() {
		if l := Parse(s); l.Get("msg") == msg {
			found = l
		}
	}
	return found
}

// Line is one parsed log line.
type Line map[string]any

// Get returns the field key as a string, or "" when it is missing.
func (l Line) Get(key string) string {
	v, ok := l[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Parse reads a line of slog's JSON format, or else of its text format
// (key=value, good enough for values without spaces).
func Parse(s string) Line {
	l := Line{}
	if strings.HasPrefix(s, "{") {
		_ = json.Unmarshal([]byte(s), &l)
		return l
	}
	for f := range strings.FieldsSeq(s) {
		if k, v, ok := strings.Cut(f, "="); ok {
			l[k] = strings.Trim(v, `"`)
		}
	}
	return l
}
