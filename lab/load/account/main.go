// Command account splits CPU profiles into where a request's CPU goes: it
// reads the output of `go tool pprof -traces` for each server, puts every
// sample in one category by the frames on its stack, and prints a markdown
// table of the categories' shares, or of microseconds per request when the
// server's CPU per request is given.
//
// Usage:
//
//	account NAME=TRACES[:CPU_US_PER_REQUEST] ...
//
// Each TRACES file is what `go tool pprof -traces BINARY PROFILE...` wrote.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "account:", err)
		os.Exit(1)
	}
}

// A category is a place a request's CPU goes. A sample belongs to the first
// category in categories whose test its stack passes.
type category struct {
	name string
	test func(stack []string) bool
}

// has reports whether a frame of stack matches re.
func has(re string) func([]string) bool {
	r := regexp.MustCompile(re)
	return func(stack []string) bool {
		return slices.ContainsFunc(stack, r.MatchString)
	}
}

// ownMiddleware reports whether the sample is in the service's middleware
// itself: the frame nearest the leaf that is either gin's Context.Next or a
// middleware or metrics function is the latter (so a handler running under
// the middleware's c.Next is not counted as middleware).
func ownMiddleware(stack []string) bool {
	for _, f := range stack { // leaf first
		if strings.HasPrefix(f, "github.com/gin-gonic/gin.(*Context).Next") {
			return false
		}
		if middlewareFrame.MatchString(f) {
			return true
		}
	}
	return false
}

// Closures that the compiler inlined into routes are named after the
// function they were inlined into: routes.Middleware.AccessLog.func2 is
// middleware, routes.New.GetItem.func10 a handler.
var middlewareFrame = regexp.MustCompile(`ginstarter/(middleware|metrics|apierror)\.|ginstarter/routes\.Middleware\.`)

var categories = []category{
	{"GC (background workers)", has(`^runtime\.(gcBgMarkWorker|bgsweep|bgscavenge)`)},
	{"access log (encoding and writing)", has(`middleware\.(writeLine|logRequest)$|^github.com/ginstarter/ginstarter/logging\.`)},
	{"GC (assists)", has(`^runtime\.gcAssistAlloc`)},
	{"allocation", has(`^runtime\.(mallocgc|newobject|makeslice|growslice|rawstring)`)},
	{"write(2): responses", has(`^internal/poll\.\(\*FD\)\.Write`)},
	{"read(2): requests", has(`^internal/poll\.\(\*FD\)\.Read`)},
	{"connection deadlines (server timeouts)", has(`^internal/poll\.\(\*FD\)\.Set(Read|Write)?Deadline|runtime_pollSetDeadline|^net\.\(\*conn\)\.Set`)},
	{"scheduler and netpoll", has(`^runtime\.(schedule|findRunnable|netpoll|park_m|mcall|goexit0|gopark|goready|ready|wakep|startm|stopm|notesleep)$`)},
	{"handler (controllers)", has(`ginstarter/controllers\.|\.(GetItem|CreateItem|ListItems|DeleteItem)\.func`)},
	{"service middleware (own code)", ownMiddleware},
	{"gin (routing, context)", has(`^github.com/gin-gonic/gin\.`)},
	{"net/http (parsing, headers, conn)", has(`^net/http\.|^net/textproto\.|^bufio\.`)},
	{"other", func([]string) bool { return true }},
}

type server struct {
	name    string
	cpuUS   float64 // CPU µs per request; 0 when not given
	total   time.Duration
	byClass []time.Duration
}

func run(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("no profile given; usage: account NAME=TRACES[:CPU_US_PER_REQUEST] (one or more)")
	}
	var servers []*server
	for _, a := range args {
		name, rest, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q: want NAME=TRACES[:CPU_US]", a)
		}
		path, cpu, _ := strings.Cut(rest, ":")
		s := &server{name: name, byClass: make([]time.Duration, len(categories))}
		if cpu != "" {
			v, err := strconv.ParseFloat(cpu, 64)
			if err != nil {
				return fmt.Errorf("%q: CPU µs per request: %w", a, err)
			}
			s.cpuUS = v
		}
		f, err := os.Open(path) //nolint:gosec // the traces file named on the command line
		if err != nil {
			return err
		}
		err = s.read(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		servers = append(servers, s)
	}
	printTable(w, servers)
	return nil
}

// read adds up the samples of one -traces output. A sample is a line that
// starts with its value and the leaf frame, followed by one frame a line,
// and ends at a line of dashes.
func (s *server) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var value time.Duration
	var stack []string
	flush := func() {
		if len(stack) > 0 {
			s.add(value, stack)
		}
		stack = stack[:0]
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----") {
			flush()
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) >= 2 && line[0] == ' ' && len(stack) == 0 {
			if d, err := time.ParseDuration(fields[0]); err == nil {
				value, stack = d, append(stack, fields[1])
				continue
			}
		}
		if len(stack) > 0 {
			stack = append(stack, fields[0])
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return err
	}
	if s.total == 0 {
		return errors.New("no samples")
	}
	return nil
}

func (s *server) add(value time.Duration, stack []string) {
	s.total += value
	for i, c := range categories {
		if c.test(stack) {
			s.byClass[i] += value
			return
		}
	}
}

func printTable(w io.Writer, servers []*server) {
	perRequest := true
	for _, s := range servers {
		perRequest = perRequest && s.cpuUS > 0
	}
	unit := "share of CPU samples"
	if perRequest {
		unit = "CPU µs per request (share of samples x CPU per request)"
	}
	fmt.Fprintf(w, "| where the CPU goes (%s) |", unit)
	for _, s := range servers {
		fmt.Fprintf(w, " %s |", s.name)
	}
	fmt.Fprint(w, "\n|---|")
	for range servers {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for i, c := range categories {
		fmt.Fprintf(w, "| %s |", c.name)
		for _, s := range servers {
			share := float64(s.byClass[i]) / float64(s.total)
			if perRequest {
				fmt.Fprintf(w, " %.2f |", share*s.cpuUS)
			} else {
				fmt.Fprintf(w, " %.1f%% |", 100*share)
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "| **total** |")
	for _, s := range servers {
		if perRequest {
			fmt.Fprintf(w, " **%.2f** |", s.cpuUS)
		} else {
			fmt.Fprintf(w, " %v of samples |", s.total)
		}
	}
	fmt.Fprintln(w)
}
