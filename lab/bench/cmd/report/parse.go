package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// sample holds every run of one stack on one route.
type sample struct {
	ns, bytes, allocs []float64
	labels            float64 // -1 when the stack reported none
	paramLabels       float64 // -1 when the stack reported none
}

type key struct{ stack, route string }

// results are the parsed benchmark lines, with stacks and routes in the
// order they first appear: those of BenchmarkStacks, and in tracing those
// of BenchmarkTracing, whose routes are "route/parent".
type results struct {
	header         []string // goos, goarch, cpu lines, each once
	stacks, routes []string
	samples        map[key]*sample
	tracing        *results
}

func newResults() *results { return &results{samples: make(map[key]*sample)} }

var (
	// line matches "BenchmarkStacks/stack/route-N  iterations  values...".
	line = regexp.MustCompile(`^BenchmarkStacks/([^/\s]+)/(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)
	// tracingLine matches "BenchmarkTracing/stack/route/parent-N  iterations  values...".
	tracingLine = regexp.MustCompile(`^BenchmarkTracing/([^/\s]+)/([^/\s]+/\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)
)

func parse(in io.Reader) (*results, error) {
	res := newResults()
	res.tracing = newResults()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		text := sc.Text()
		for _, h := range []string{"goos:", "goarch:", "cpu:"} {
			if strings.HasPrefix(text, h) && !slices.Contains(res.header, strings.TrimSpace(text)) {
				res.header = append(res.header, strings.TrimSpace(text))
			}
		}
		into, m := res, line.FindStringSubmatch(text)
		if m == nil {
			into, m = res.tracing, tracingLine.FindStringSubmatch(text)
		}
		if m == nil {
			continue
		}
		if err := into.add(m[1], m[2], strings.Fields(m[3])); err != nil {
			return nil, fmt.Errorf("%q: %w", text, err)
		}
	}
	return res, sc.Err()
}

func (res *results) add(stack, route string, fields []string) error {
	k := key{stack, route}
	s, ok := res.samples[k]
	if !ok {
		s = &sample{labels: -1, paramLabels: -1}
		res.samples[k] = s
		if !slices.Contains(res.stacks, stack) {
			res.stacks = append(res.stacks, stack)
		}
		if !slices.Contains(res.routes, route) {
			res.routes = append(res.routes, route)
		}
	}
	if len(fields)%2 != 0 {
		return errors.New("odd number of value and unit fields")
	}
	for i := 0; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return err
		}
		switch fields[i+1] {
		case "ns/op":
			s.ns = append(s.ns, v)
		case "B/op":
			s.bytes = append(s.bytes, v)
		case "allocs/op":
			s.allocs = append(s.allocs, v)
		case "route-labels":
			s.labels = v
		case "param-labels":
			s.paramLabels = v
		}
	}
	return nil
}

// median returns the median of xs, or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread returns (max-min)/median of xs, as a fraction.
func spread(xs []float64) float64 {
	m := median(xs)
	if m == 0 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / m
}
