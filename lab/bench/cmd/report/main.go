// Command report reads the output of BenchmarkStacks and BenchmarkTracing on
// standard input and writes Markdown tables of it. For BenchmarkStacks: for
// each stack and route the median ns/op, the spread across the runs, B/op,
// allocs/op, the ratio to bare gin on the same route and the route label
// values after unknown paths; then, for each route, the best alternative
// library against this project. For BenchmarkTracing: the same figures for
// each stack and request, with the cost over this project's metrics and
// recovery alone; then, for each request, this project's tracing against
// otelgin's, unsampled and sampled.
//
//	go test -run '^$' -bench . -benchtime=1s -count=5 ./... | tee bench.txt
//	go run ./cmd/report < bench.txt
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	res, err := parse(in)
	if err != nil {
		return fmt.Errorf("reading benchmark output: %w", err)
	}
	if len(res.stacks) == 0 && len(res.tracing.stacks) == 0 {
		return errors.New("no BenchmarkStacks or BenchmarkTracing lines in the input")
	}
	if len(res.stacks) > 0 {
		if err := write(out, res); err != nil {
			return err
		}
	}
	if len(res.tracing.stacks) > 0 {
		header := res.header
		if len(res.stacks) > 0 {
			header = nil // written above
			if _, err := io.WriteString(out, "\n"); err != nil {
				return err
			}
		}
		return writeTracing(out, res.tracing, header)
	}
	return nil
}
