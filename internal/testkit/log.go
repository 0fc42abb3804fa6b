package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// LogBuffer collects log output: a logger's, or a process's stdout. It is
// safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the complete lines written so far.
func (b *LogBuffer) Lines() []string {
	s := b.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// Find returns the first line whose msg is msg.
func (b *LogBuffer) Find(msg string) (LogLine, bool) {
	for _, s := range b.Lines() {
		if l := ParseLogLine(s); l.Get("msg") == msg {
			return l, true
		}
	}
	return nil, false
}

// Last returns the last line whose msg is msg, or nil.
func (b *LogBuffer) Last(msg string) LogLine {
	var found LogLine
	for _, s := range b.Lines() {
		if l := ParseLogLine(s); l.Get("msg") == msg {
			found = l
		}
	}
	return found
}

// LogLine is one parsed log line.
type LogLine map[string]any

// Get returns the field key as a string, or "" when it is missing.
func (l LogLine) Get(key string) string {
	v, ok := l[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// ParseLogLine reads a line of slog's JSON format, or else of its text
// format (key=value, good enough for values without spaces).
func ParseLogLine(s string) LogLine {
	l := LogLine{}
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
