package logging_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/logging"
)

// slogLine is what slog's own JSON handler writes for a record with msg,
// the string attribute key=str and the integer attribute n=num.
func slogLine(tb testing.TB, t time.Time, level slog.Level, msg, key, str string, num int64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 8})
	r := slog.NewRecord(t, level, msg, 0)
	r.AddAttrs(slog.String(key, str), slog.Int64("n", num))
	if err := h.Handle(context.Background(), r); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// appendLine builds the same line with the Append functions.
func appendLine(t time.Time, level slog.Level, msg, key, str string, num int64) []byte {
	return appendTo(nil, t, level, msg, key, str, num)
}

func appendTo(b []byte, t time.Time, level slog.Level, msg, key, str string, num int64) []byte {
	b = logging.AppendStart(b, t, level, msg)
	b = logging.AppendString(b, key, str)
	b = logging.AppendInt(b, "n", num)
	return logging.AppendEnd(b)
}

func TestAppendMatchesSlog(t *testing.T) {
	at := time.Date(2026, 12, 3, 21, 31, 47, 123456789, time.UTC)
	tests := []struct {
		name, msg, key, value string
	}{
		{"plain", "request", "path", "/v1/items/42"},
		{"empty", "", "", ""},
		{"quote and backslash", `a"b`, `k\"`, `C:\dir\"x"`},
		{"control characters", "a\nb", "tab\t", "\x00\x01\x1f\r\n\t\x7f"},
		{"html stays as is", "<b>", "&", "<script>&amp;</script>"},
		{"invalid UTF-8", "\xff", "\xc3", "ok\xffok\xe2\x82"},
		{"line and paragraph separators", "\u2028", "k", "a\u2028b\u2029c"},
		{"multibyte", "größe", "ключ", "日本語 🚀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slogLine(t, at, slog.LevelInfo, tt.msg, tt.key, tt.value, -7)
			if got := appendLine(at, slog.LevelInfo, tt.msg, tt.key, tt.value, -7); !bytes.Equal(got, want) {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
	// Levels, zones and times that slog writes differently.
	for _, tt := range []struct {
		level slog.Level
		at    time.Time
	}{
		{slog.LevelDebug, at},
		{slog.LevelWarn, at.In(time.FixedZone("", -(3*3600 + 30*60)))},
		{slog.LevelError + 2, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{slog.LevelInfo, time.Now()}, // a monotonic reading, which slog drops
	} {
		want := slogLine(t, tt.at, tt.level, "m", "k", "v", 1<<40)
		if got := appendLine(tt.at, tt.level, "m", "k", "v", 1<<40); !bytes.Equal(got, want) {
			t.Errorf("level %v at %v:\n got %s\nwant %s", tt.level, tt.at, got, want)
		}
	}
}

func FuzzAppendMatchesSlog(f *testing.F) {
	f.Add("request", "path", "/v1/items/1", int64(0), int64(0))
	f.Add("\u2028\x00", "\"", "\xff<&>\\", int64(-1), int64(1764797507123456789))
	f.Fuzz(func(t *testing.T, msg, key, value string, num, nanos int64) {
		at := time.Unix(0, nanos).UTC()
		if y := at.Year(); y < 0 || y >= 10000 {
			t.Skip("slog writes an error for years outside 0-9999; access lines never have one")
		}
		want := slogLine(t, at, slog.LevelInfo, msg, key, value, num)
		if got := appendLine(at, slog.LevelInfo, msg, key, value, num); !bytes.Equal(got, want) {
			t.Errorf("\n got %q\nwant %q", got, want)
		}
	})
}

func BenchmarkAccessLine(b *testing.B) {
	at := time.Now()
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf = appendTo(buf[:0], at, slog.LevelInfo, "request", "path", "/v1/items/0123456789abcdef", 200)
		}
	})
	b.Run("slog", func(b *testing.B) {
		b.ReportAllocs()
		h := slog.NewJSONHandler(discard{}, nil)
		for b.Loop() {
			r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
			r.AddAttrs(slog.String("path", "/v1/items/0123456789abcdef"), slog.Int64("n", 200))
			_ = h.Handle(context.Background(), r)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
