// Package rename turns the template into the user's own service: it
// replaces the template's module path (go.mod files, imports, links) and
// service name (Kubernetes names, the Prometheus job, the dashboard, the
// binary and the image, the README) in every text file of the tree.
//
// It also finishes what gonew starts: gonew rewrites the root go.mod and
// the imports of the main module only, and Run, given just the name, takes
// the module path that go.mod now declares and replaces the rest.
package rename

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

const (
	// TemplateModule is the template's module path.
	TemplateModule = "github.com/ginstarter/ginstarter"
	// TemplateName is the template's service name.
	TemplateName = "ginstarter"
)

// selfDir holds this package, which keeps the template's names so that a
// second run still knows what to replace; Run never rewrites it.
const selfDir = labDir + "rename/"

// Options are the arguments of a rename.
type Options struct {
	Dir    string // root of the tree: holds go.mod
	Module string // new module path; empty keeps the one go.mod declares
	Name   string // new service name
	Force  bool   // rename even when git reports uncommitted changes
	// KeepLab keeps the template's lab (labDir and the regions of other
	// files that only it needs), renamed like the rest; by default the
	// rename removes it.
	KeepLab bool
}

// Plan is a rename worked out from Options and the tree's go.mod.
type Plan struct {
	Dir        string
	FromModule string // the module path go.mod declared before the rename
	Module     string
	Name       string
	KeepLab    bool
}

// Change is one rewritten file.
type Change struct {
	Path         string // slash-separated, relative to Plan.Dir
	Replacements int    // names replaced and lab regions removed
}

// Result is what Run did.
type Result struct {
	Plan       Plan
	Git        bool // the files were those git lists; otherwise every file under Dir
	Changed    []Change
	RemovedLab bool     // labDir was there and has been removed
	Notes      []string // things the user should check by hand
}

// Run renames the tree at opts.Dir. It checks every argument and every file
// before it writes any, and a second run with the same arguments changes
// nothing.
func Run(ctx context.Context, opts Options) (Result, error) {
	plan, err := NewPlan(opts)
	if err != nil {
		return Result{}, err
	}
	res := Result{Plan: plan}
	// Every read and write goes through root: a symbolic link in the tree
	// cannot make the rename touch a file outside it.
	root, err := os.OpenRoot(plan.Dir)
	if err != nil {
		return res, err
	}
	defer func() { _ = root.Close() }() // a directory handle: nothing to flush
	files, git, err := listFiles(ctx, root, opts.Force)
	if err != nil {
		return res, err
	}
	res.Git = git
	contents, err := rewriteAll(root, plan, files)
	if err != nil {
		return res, err
	}
	for _, c := range contents {
		if err := overwrite(root, c.path, c.data); err != nil {
			return res, fmt.Errorf("writing %s: %w", c.path, err)
		}
		res.Changed = append(res.Changed, Change{Path: c.path, Replacements: c.n})
	}
	if !plan.KeepLab {
		if _, err := root.Stat(strings.TrimSuffix(labDir, "/")); err == nil {
			if err := root.RemoveAll(strings.TrimSuffix(labDir, "/")); err != nil {
				return res, fmt.Errorf("removing %s: %w", labDir, err)
			}
			res.RemovedLab = true
		}
	}
	res.Notes = notes(plan, len(res.Changed) > 0)
	return res, nil
}

func notes(plan Plan, changed bool) []string {
	var notes []string
	if !strings.HasPrefix(plan.Module, "github.com/") && changed {
		notes = append(notes, fmt.Sprintf("the alerts' runbook_url and the image's source label now link to https://%s/blob/main/...; check that your code host serves those pages", RepoRoot(plan.Module)))
	}
	return notes
}

// NewPlan checks the arguments and reads the module path from go.mod. Its
// error names every bad argument, one a line.
func NewPlan(opts Options) (Plan, error) {
	plan := Plan{Dir: opts.Dir, Module: opts.Module, Name: opts.Name, KeepLab: opts.KeepLab}
	if plan.Dir == "" {
		plan.Dir = "."
	}
	var errs []error
	if err := CheckName(opts.Name); err != nil {
		errs = append(errs, fmt.Errorf("-name %q: %w", opts.Name, err))
	}
	if opts.Module != "" {
		if err := CheckModulePath(opts.Module); err != nil {
			errs = append(errs, fmt.Errorf("-module %q: %w", opts.Module, err))
		}
	}
	gomod, err := os.ReadFile(filepath.Join(plan.Dir, "go.mod"))
	if err == nil {
		plan.FromModule, err = ModulePath(gomod)
	}
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("-dir %q: %w", plan.Dir, err))
	case opts.Module == "" && plan.FromModule == TemplateModule:
		errs = append(errs, fmt.Errorf("-module: required, go.mod still declares the template's %s", TemplateModule))
	case opts.Module == "":
		plan.Module = plan.FromModule
	}
	if opts.KeepLab {
		if _, err := os.Stat(filepath.Join(plan.Dir, labDir)); err != nil {
			errs = append(errs, fmt.Errorf("-keep-lab: %w (gonew copies the main module only, without the lab)", err))
		}
	}
	return plan, errors.Join(errs...)
}

// ModulePath returns the path of the module directive of a go.mod file.
func ModulePath(gomod []byte) (string, error) {
	for line := range strings.Lines(string(gomod)) {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], "\"`"), nil
		}
	}
	return "", errors.New("go.mod has no module directive")
}

type content struct {
	path string
	data []byte
	n    int
}

// rewriteAll returns the new contents of the files that change.
func rewriteAll(root *os.Root, plan Plan, files []string) ([]content, error) {
	r := newReplacer(plan)
	var out []content
	for _, rel := range files {
		if strings.HasPrefix(rel, selfDir) || (!plan.KeepLab && strings.HasPrefix(rel, labDir)) {
			continue
		}
		data, err := root.ReadFile(filepath.FromSlash(rel))
		if err != nil {
			return nil, err
		}
		base := filepath.Base(rel)
		if base == "go.mod" || base == "go.sum" {
			if err := checkForeignModules(rel, data, plan); err != nil {
				return nil, err
			}
		}
		if base == "go.sum" || bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
			continue
		}
		c, err := rewrite(plan, r, rel, data)
		if err != nil {
			return nil, err
		}
		if c.n > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// overwrite replaces the content of an existing file and keeps its mode.
func overwrite(root *os.Root, rel string, data []byte) error {
	f, err := root.OpenFile(filepath.FromSlash(rel), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

func rewrite(plan Plan, r replacer, rel string, data []byte) (content, error) {
	s, removed := string(data), 0
	if !plan.KeepLab {
		var err error
		if s, removed, err = stripLab(rel, s); err != nil {
			return content{}, err
		}
	}
	s, n := r.apply(s)
	n += removed
	if filepath.Base(rel) == "go.mod" {
		// A module path with a major version suffix needs a requirement of
		// that major version, even when a replace directive supplies it.
		if major := MajorVersion(plan.Module); major >= 2 {
			old, fixed := plan.Module+" v0.0.0", fmt.Sprintf("%s v%d.0.0", plan.Module, major)
			n += strings.Count(s, old)
			s = strings.ReplaceAll(s, old, fixed)
		}
	}
	out := []byte(s)
	if n > 0 && strings.HasSuffix(rel, ".go") {
		// Import paths and identifiers change length: realign and re-sort.
		formatted, err := format.Source(out)
		if err != nil {
			return content{}, fmt.Errorf("%s: gofmt after the rename: %w", rel, err)
		}
		out = formatted
	}
	return content{path: rel, data: out, n: n}, nil
}

// checkForeignModules refuses a tree that depends on some other module
// whose path holds the template's name: replacing the bare name would
// rewrite that path too.
func checkForeignModules(rel string, data []byte, plan Plan) error {
	for f := range strings.FieldsSeq(string(data)) {
		if !strings.ContainsAny(f, "./") || !strings.Contains(strings.ToLower(f), TemplateName) {
			continue
		}
		if f == TemplateModule || strings.HasPrefix(f, TemplateModule+"/") || f == plan.FromModule || strings.HasPrefix(f, plan.FromModule+"/") {
			continue
		}
		return fmt.Errorf("%s names %s, another module with %q in its path, which the rename would rewrite; rename by hand", rel, f, TemplateName)
	}
	return nil
}
