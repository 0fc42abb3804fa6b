// Command gen writes .env.example and the configuration table of README.md
// from config.Vars. `go generate ./...` runs it from the config directory:
//
//	go run ./internal/configdoc/gen -root ..
//
// It rewrites only the lines between the marker lines of README.md, and a
// file only when its content changes.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/config/internal/configdoc"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "config/internal/configdoc/gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := flags.String("root", "..", "the module root, where .env.example and README.md are")
	if err := flags.Parse(args); err != nil {
		return err
	}
	root, err := os.OpenRoot(*dir)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }() // a directory handle: nothing to flush
	files, err := configdoc.Files(root.FS(), config.Vars())
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := write(root, f); err != nil {
			return err
		}
	}
	return nil
}

// write writes f below root unless it already holds f's content, keeping
// the file's permissions.
func write(root *os.Root, f configdoc.File) error {
	perm := fs.FileMode(0o644)
	switch info, err := root.Stat(f.Name); {
	case err == nil:
		perm = info.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if old, err := root.ReadFile(f.Name); err == nil && bytes.Equal(old, f.Data) {
		return nil
	}
	return root.WriteFile(f.Name, f.Data, perm)
}
