package logging_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/logging"
)

// sink records every write it gets, each as one piece.
type sink struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) got() (writes int, all string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.writes), strings.Join(s.writes, "")
}

// never is an interval no test waits out.
const never = time.Hour

func TestOutputHoldsLinesUntilFlush(t *testing.T) {
	var s sink
	o := logging.NewOutput(&s, never)
	for i := range 3 {
		fmt.Fprintf(o, "line %d\n", i)
	}
	if n, _ := s.got(); n != 0 {
		t.Fatalf("%d writes before Flush, want 0", n)
	}
	if err := o.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, all := s.got(); n != 1 || all != "line 0\nline 1\nline 2\n" {
		t.Errorf("after Flush: %d writes of %q; want the 3 lines in one write", n, all)
	}
	if err := o.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.got(); n != 1 {
		t.Errorf("a Flush with nothing buffered wrote: %d writes", n)
	}
}

func TestOutputFlushesAfterTheInterval(t *testing.T) {
	var s sink
	o := logging.NewOutput(&s, 10*time.Millisecond)
	fmt.Fprintln(o, "first")
	waitFor(t, &s, "first\n")
	fmt.Fprintln(o, "second") // the timer is armed again for a new line
	waitFor(t, &s, "first\nsecond\n")
}

func waitFor(t *testing.T, s *sink, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, all := s.got(); all == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("written %q, want %q", all, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOutputWritesWholeLinesWhenFull(t *testing.T) {
	var s sink
	o := logging.NewOutput(&s, never)
	line := strings.Repeat("x", 999) + "\n"
	n := 3*logging.BufferSize/len(line) + 1
	for range n {
		_, _ = o.Write([]byte(line))
	}
	if writes, _ := s.got(); writes < 2 {
		t.Errorf("%d writes for %d bytes; want the buffer written out whenever it is full", writes, n*len(line))
	}
	s.mu.Lock()
	for i, w := range s.writes {
		if len(w) > logging.BufferSize || len(w)%len(line) != 0 {
			t.Errorf("write %d is %d bytes: not whole lines within the buffer size", i, len(w))
		}
	}
	s.mu.Unlock()
	_ = o.Flush()
	if _, all := s.got(); all != strings.Repeat(line, n) {
		t.Errorf("lost or reordered lines: %d bytes written, want %d", len(all), n*len(line))
	}
}

func TestOutputWritesALineLargerThanTheBufferInOrder(t *testing.T) {
	var s sink
	o := logging.NewOutput(&s, never)
	big := strings.Repeat("y", logging.BufferSize+1) + "\n"
	fmt.Fprint(o, "before\n")
	fmt.Fprint(o, big)
	fmt.Fprint(o, "after\n")
	_ = o.Flush()
	if _, all := s.got(); all != "before\n"+big+"after\n" {
		t.Errorf("lines out of order around a line larger than the buffer")
	}
}

func TestOutputWithoutIntervalWritesEachLine(t *testing.T) {
	var s sink
	o := logging.NewOutput(&s, 0)
	fmt.Fprintln(o, "a")
	fmt.Fprintln(o, "b")
	if n, all := s.got(); n != 2 || all != "a\nb\n" {
		t.Errorf("%d writes of %q, want one write per line", n, all)
	}
}

func TestOutputCloseFlushesAndLaterLinesGoStraightThrough(t *testing.T) {
	var s sink
	o := logging.NewOutput(&s, never)
	fmt.Fprintln(o, "buffered")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, all := s.got(); all != "buffered\n" {
		t.Fatalf("after Close: %q", all)
	}
	fmt.Fprintln(o, "late")
	if _, all := s.got(); all != "buffered\nlate\n" {
		t.Errorf("a line after Close: written %q; want it written at once", all)
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOutputReportsAFailedWrite(t *testing.T) {
	s := sink{err: errors.New("disk full")}
	o := logging.NewOutput(&s, never)
	fmt.Fprintln(o, "x")
	if err := o.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Flush = %v, want the writer's error", err)
	}
}

func TestOutputConcurrentLinesStayWhole(t *testing.T) {
	var s sink
	o := logging.NewOutput(&s, time.Millisecond)
	const writers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				fmt.Fprintf(o, "writer=%d line=%d %s\n", w, i, strings.Repeat("z", i%300))
			}
		})
	}
	wg.Wait()
	_ = o.Close()
	_, all := s.got()
	next := make([]int, writers)
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	for _, l := range lines {
		var w, i int
		var pad string
		if _, err := fmt.Sscanf(l, "writer=%d line=%d %s", &w, &i, &pad); err != nil && i%300 != 0 {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[w] || len(pad) != i%300 {
			t.Fatalf("writer %d: line %d (%d pad bytes), want line %d", w, i, len(pad), next[w])
		}
		next[w]++
	}
	if len(lines) != writers*each {
		t.Errorf("%d lines, want %d", len(lines), writers*each)
	}
}

func TestLoggerWritesWarningsAtOnceAfterWhatIsBuffered(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var s sink
			l := logging.New(logging.NewOutput(&s, never), format, slog.LevelDebug)
			l.Info("first")
			l.Debug("second")
			if n, _ := s.got(); n != 0 {
				t.Fatalf("info and debug lines written at once (%d writes); want them buffered", n)
			}
			l.Warn("third")
			_, all := s.got()
			i1, i2, i3 := strings.Index(all, "first"), strings.Index(all, "second"), strings.Index(all, "third")
			if i1 < 0 || i2 < i1 || i3 < i2 {
				t.Errorf("after a warning: %q; want first, second and third, in order", all)
			}
			l.With("k", "v").WithGroup("g").Error("fourth")
			if _, all := s.got(); !strings.Contains(all, "fourth") {
				t.Errorf("an error from a derived logger was held back: %q", all)
			}
		})
	}
}

func TestDirect(t *testing.T) {
	out := logging.NewOutput(&bytes.Buffer{}, never)
	for _, tt := range []struct {
		name string
		l    *slog.Logger
		want bool
	}{
		{"json", logging.New(out, "json", slog.LevelInfo), true},
		{"text", logging.New(out, "text", slog.LevelInfo), false},
		{"json with attributes", logging.New(out, "json", slog.LevelInfo).With("k", "v"), false},
		{"json with a group", logging.New(out, "json", slog.LevelInfo).WithGroup("g"), false},
		{"json with nothing added", logging.New(out, "json", slog.LevelInfo).With().WithGroup(""), true},
		{"another handler", slog.New(slog.NewJSONHandler(out, nil)), false},
	} {
		got, ok := logging.Direct(tt.l)
		if ok != tt.want || (ok && got != out) {
			t.Errorf("%s: Direct = %v, %v; want %v", tt.name, got, ok, tt.want)
		}
	}
}
