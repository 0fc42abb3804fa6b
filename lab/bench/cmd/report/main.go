// Command report reads the output of BenchmarkStacks on standard input and
// writes a Markdown table of it: for each stack and route the median ns/op,
// the spread across the runs, B/op, allocs/op, the ratio to bare gin on the
// same route and the route label values after unknown paths; then, for each
// route, the best alternative library against this project.
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
	if len(res.stacks) == 0 {
		return errors.New("no BenchmarkStacks lines in the input")
	}
	return write(out, res)
}
