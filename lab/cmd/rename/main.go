// Command rename turns the template into your own service, once, in a clean
// git work tree (make rename runs it from the repository's root):
//
//	cd lab && go run ./cmd/rename -dir .. -module github.com/acme/orders -name orders
//
// After gonew, which has already renamed the module, the name is enough:
//
//	cd lab && go run ./cmd/rename -dir ../../orders -name orders
//
// It rewrites the module path (every go.mod, import and link) and the
// service name (deploy/, the dashboard, the Makefile, the Dockerfile, the
// README, the CI scripts) in every text file, gofmt-clean, and prints how
// many files changed; a second run changes nothing. Unless -keep-lab is
// given, it also removes the template's lab: lab/, this tool with it, and
// the regions of other files between template-lab:begin and
// template-lab:end lines (make targets, the CI lane, README lines).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ginstarter/ginstarter/lab/rename"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			for line := range strings.Lines(err.Error()) {
				fmt.Fprint(os.Stderr, "rename: ", line)
			}
			fmt.Fprintln(os.Stderr)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("rename", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var opts rename.Options
	flags.StringVar(&opts.Module, "module", "", "the new module path, e.g. github.com/acme/orders (default: the one go.mod declares, after gonew)")
	flags.StringVar(&opts.Name, "name", "", "the new service name, a DNS-1035 label, e.g. orders (required)")
	flags.StringVar(&opts.Dir, "dir", ".", "the root of the tree, where go.mod is")
	flags.BoolVar(&opts.Force, "force", false, "rename even though git reports uncommitted changes")
	flags.BoolVar(&opts.KeepLab, "keep-lab", false, "keep the template's lab (lab/ and the make targets and CI lane that need it), renamed")
	verbose := flags.Bool("v", false, "list every file changed")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: use -module and -name", flags.Args())
	}
	res, err := rename.Run(ctx, opts)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, report(res, *verbose))
	return err
}

// report says what the rename did: the files with -v, the totals, the notes
// and what to do next.
func report(res rename.Result, verbose bool) string {
	var w strings.Builder
	p := res.Plan
	from := rename.TemplateModule
	if p.FromModule != rename.TemplateModule && p.FromModule != p.Module {
		from += " and " + p.FromModule
	}
	if len(res.Changed) == 0 {
		fmt.Fprintf(&w, "nothing to rename: no file under %s names %s or %s\n", p.Dir, from, rename.TemplateName)
		return w.String()
	}
	total := 0
	for _, c := range res.Changed {
		total += c.Replacements
		if verbose {
			fmt.Fprintf(&w, "%5d  %s\n", c.Replacements, c.Path)
		}
	}
	fmt.Fprintf(&w, "renamed %s to %s and %s to %s: %d replacements in %d files\n",
		from, p.Module, rename.TemplateName, p.Name, total, len(res.Changed))
	if res.RemovedLab {
		w.WriteString("removed the template's lab (lab/, with this tool) and the make targets and CI lane that need it\n")
	}
	for _, n := range res.Notes {
		fmt.Fprintln(&w, "note:", n)
	}
	if res.Git {
		w.WriteString("review with git diff, then: go build ./... && make test\n")
	} else {
		w.WriteString("next: go build ./... && make test\n")
	}
	return w.String()
}
