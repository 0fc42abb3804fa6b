// Package configdoc writes the documentation of the configuration variables
// from config.Vars: the whole of .env.example, and the configuration table of
// README.md between its marker lines. The generator in gen writes the files;
// the tests of package config compare them with what it would write.
package configdoc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ginstarter/ginstarter/config"
)

// The marker lines around the configuration table in README.md. Only the
// lines between them are rewritten; the rest of the README is left as it is.
const (
	BeginMarker = "<!-- config:begin -->"
	EndMarker   = "<!-- config:end -->"
)

// Names of the generated files, relative to the module root.
const (
	EnvExampleFile = ".env.example"
	ReadmeFile     = "README.md"
)

// envHeader opens .env.example.
const envHeader = `# Configuration of the service. Copy this file to .env and edit it: the
# service loads .env at start when it exists, and variables already set in
# the environment (Kubernetes, your shell) win over it. Every variable has a
# working default, shown here; an empty value means the default.
#
# go generate ./... writes this file from config.Vars in config/config.go:
# to add or change a variable, edit its row there, not this file.
`

// File is a generated file: its name relative to the module root and its
// content.
type File struct {
	Name string
	Data []byte
}

// Files returns the generated files for vars: .env.example, and README.md as
// read from root with the text between its marker lines replaced by the
// configuration table. root is the module root.
func Files(root fs.FS, vars []config.Var) ([]File, error) {
	if err := checkOneLine(vars); err != nil {
		return nil, err
	}
	readme, err := fs.ReadFile(root, ReadmeFile)
	if err != nil {
		return nil, err
	}
	spliced, err := Splice(readme, Table(vars))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ReadmeFile, err)
	}
	return []File{
		{Name: EnvExampleFile, Data: EnvExample(vars)},
		{Name: ReadmeFile, Data: spliced},
	}, nil
}

// checkOneLine reports a name, default or description that spans lines,
// which neither file could show as one entry.
func checkOneLine(vars []config.Var) error {
	var errs []error
	for _, v := range vars {
		if strings.ContainsAny(v.Name+v.Default+v.Help, "\r\n") {
			errs = append(errs, fmt.Errorf("config.Vars: %s: its name, default and description must each be one line", v.Name))
		}
	}
	return errors.Join(errs...)
}

// EnvExample returns the content of .env.example: a header, then for each
// variable a comment with its description and default, and NAME=default.
func EnvExample(vars []config.Var) []byte {
	var b bytes.Buffer
	b.WriteString(envHeader)
	for _, v := range vars {
		def := v.Default
		if def == "" {
			def = "empty"
		}
		fmt.Fprintf(&b, "\n# %s (default: %s)\n%s=%s\n", v.Help, def, v.Name, v.Default)
	}
	return b.Bytes()
}

// Table returns the Markdown table of vars for the README, one row a
// variable.
func Table(vars []config.Var) string {
	var b strings.Builder
	b.WriteString("| variable | default | what it does |\n|---|---|---|\n")
	for _, v := range vars {
		def := "(empty)"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Help, "|", `\|`))
	}
	return b.String()
}

// Splice returns readme with the lines between the BeginMarker and EndMarker
// lines replaced by table, set off by blank lines. It fails unless each
// marker stands alone on exactly one line, the begin marker first.
func Splice(readme []byte, table string) ([]byte, error) {
	lines := strings.SplitAfter(string(readme), "\n")
	begin, err := markerLine(lines, BeginMarker)
	if err != nil {
		return nil, err
	}
	end, err := markerLine(lines, EndMarker)
	if err != nil {
		return nil, err
	}
	if end < begin {
		return nil, fmt.Errorf("%s (line %d) comes before %s (line %d)", EndMarker, end+1, BeginMarker, begin+1)
	}
	var b strings.Builder
	for _, l := range lines[:begin+1] {
		b.WriteString(l)
	}
	b.WriteString("\n" + table + "\n")
	for _, l := range lines[end:] {
		b.WriteString(l)
	}
	return []byte(b.String()), nil
}

// markerLine returns the index of the one line that is marker.
func markerLine(lines []string, marker string) (int, error) {
	found := -1
	for i, l := range lines {
		if strings.TrimSpace(l) != marker {
			continue
		}
		if found >= 0 {
			return 0, fmt.Errorf("the marker line %s stands on lines %d and %d; keep one", marker, found+1, i+1)
		}
		found = i
	}
	if found < 0 {
		return 0, fmt.Errorf("no marker line %s: put the lines %s and %s, each on a line of its own, around the configuration table; go generate rewrites what is between them", marker, BeginMarker, EndMarker)
	}
	return found, nil
}
