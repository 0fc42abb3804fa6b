package rename

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewPlanNamesEveryBadArgument(t *testing.T) {
	template := writeTree(t, map[string]string{"go.mod": "module " + TemplateModule + "\n\ngo 1.26\n"})
	renamed := writeTree(t, map[string]string{"go.mod": "module \"github.com/acme/orders\" // after gonew\n"})
	tests := []struct {
		name string
		opts Options
		want []string // each must appear in the error; none: no error
	}{
		{"valid", Options{Dir: template, Module: "github.com/acme/orders", Name: "orders"}, nil},
		{"both bad", Options{Dir: template, Module: "orders", Name: "Orders"},
			[]string{`-module "orders": `, `-name "Orders": `}},
		{"module missing from the template", Options{Dir: template, Name: "orders"},
			[]string{"-module: required, go.mod still declares the template's " + TemplateModule}},
		{"module missing after gonew", Options{Dir: renamed, Name: "orders"}, nil},
		{"name missing", Options{Dir: renamed}, []string{`-name "": empty`}},
		{"no go.mod", Options{Dir: t.TempDir(), Name: "-x"},
			[]string{`-name "-x"`, `-dir "`, "go.mod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := NewPlan(tt.opts)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("NewPlan: %v", err)
				}
				if plan.Module != "github.com/acme/orders" {
					t.Errorf("plan.Module = %q, want github.com/acme/orders", plan.Module)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewPlan accepted %+v", tt.opts)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// TestRunMajorVersion renames to a /v2 module: the separate modules must
// require the main one at v2.x.x, or the go command refuses them.
func TestRunMajorVersion(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"go.mod":       "module " + TemplateModule + "\n",
		"bench/go.mod": "module " + TemplateModule + "/bench\n\nreplace " + TemplateModule + " => ../\n\nrequire (\n\t" + TemplateModule + " v0.0.0\n)\n",
		"image.bin":    "ginstarter\x00\x01",
	})
	res, err := Run(context.Background(), Options{Dir: dir, Module: "github.com/acme/orders/v2", Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	want := "module github.com/acme/orders/v2/bench\n\nreplace github.com/acme/orders/v2 => ../\n\nrequire (\n\tgithub.com/acme/orders/v2 v2.0.0\n)\n"
	if got := readFile(t, dir, "bench/go.mod"); got != want {
		t.Errorf("bench/go.mod:\n%s\nwant:\n%s", got, want)
	}
	if got := readFile(t, dir, "image.bin"); got != "ginstarter\x00\x01" {
		t.Errorf("a binary file was rewritten: %q", got)
	}
	if len(res.Changed) != 2 {
		t.Errorf("changed %v, want go.mod and bench/go.mod", res.Changed)
	}
	if len(res.Notes) != 0 {
		t.Errorf("notes %q, want none for a github.com module", res.Notes)
	}
}

func TestRunRefusesForeignModuleWithTheName(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"go.mod": "module " + TemplateModule + "\n\nrequire github.com/someone/ginstarter-client v1.0.0\n",
	})
	_, err := Run(context.Background(), Options{Dir: dir, Module: "github.com/acme/orders", Name: "orders"})
	if err == nil || !strings.Contains(err.Error(), "github.com/someone/ginstarter-client") {
		t.Fatalf("Run = %v, want an error naming github.com/someone/ginstarter-client", err)
	}
	if got := readFile(t, dir, "go.mod"); !strings.HasPrefix(got, "module "+TemplateModule) {
		t.Errorf("go.mod was rewritten although Run failed:\n%s", got)
	}
}

func TestRunRefusesUncommittedChanges(t *testing.T) {
	requireTool(t, "git")
	dir := writeTree(t, map[string]string{
		"go.mod":  "module " + TemplateModule + "\n",
		"main.go": "// Command ginstarter serves.\npackage main\n",
	})
	gitCommit(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("// Command ginstarter serves\n// requests.\npackage main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Dir: dir, Module: "github.com/acme/orders", Name: "orders"}
	if _, err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "uncommitted changes") {
		t.Fatalf("Run on a dirty tree = %v, want an error about uncommitted changes", err)
	}
	if got := readFile(t, dir, "go.mod"); got != "module "+TemplateModule+"\n" {
		t.Errorf("go.mod was rewritten although Run refused:\n%s", got)
	}
	opts.Force = true
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run with Force: %v", err)
	}
	if !res.Git || len(res.Changed) != 2 {
		t.Errorf("Run with Force: git %v, changed %v; want git and 2 files", res.Git, res.Changed)
	}
}

func writeTree(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func readFile(tb testing.TB, dir, name string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

func requireTool(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		tb.Skipf("%s is not installed: this test needs it (%v)", name, err)
	}
}

// gitCommit makes dir a git repository with everything in it committed.
func gitCommit(tb testing.TB, dir string) {
	tb.Helper()
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=rename test", "-c", "user.email=rename@example.com", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "template"},
	} {
		run(tb, dir, "git", args...)
	}
}

// run runs a command in dir and returns its standard output; it fails the
// test with the command's output when the command fails.
func run(tb testing.TB, dir, name string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s %s in %s: %v\n%s%s", name, strings.Join(args, " "), dir, err, out, stderr.String())
	}
	return string(out)
}
