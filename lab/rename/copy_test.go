package rename

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRenameCopy renames a copy of the repository as a user would, in a
// fresh git clone, and builds, vets, tests and renders the result: the
// clone keeps the service and loses the lab.
func TestRenameCopy(t *testing.T) {
	t.Parallel()
	root := templateRoot(t)
	requireTool(t, "kubectl")
	dir := t.TempDir()
	copyTree(t, root, dir, func(string) bool { return true })
	gitCommit(t, dir)

	opts := Options{Dir: dir, Module: "github.com/acme/orders", Name: "orders"}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Git || !res.RemovedLab || len(res.Changed) < 30 {
		t.Fatalf("Run: git %v, lab removed %v, %d files changed; want git, the lab removed and most of the tree changed", res.Git, res.RemovedLab, len(res.Changed))
	}
	if st := run(t, dir, "git", "status", "--porcelain"); strings.Contains(st, "??") {
		t.Errorf("the rename created files:\n%s", st)
	}
	if _, err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "uncommitted changes") {
		t.Errorf("a second Run on the uncommitted rename = %v, want a refusal", err)
	}
	opts.Force = true
	if res, err := Run(context.Background(), opts); err != nil || len(res.Changed) != 0 || res.RemovedLab {
		t.Errorf("a second Run with Force changed %v, removed the lab %v (error %v); want nothing", res.Changed, res.RemovedLab, err)
	}

	assertNoTemplateName(t, dir)
	assertNoLab(t, dir)
	assertGoMods(t, dir, map[string]string{"go.mod": "module github.com/acme/orders\n"}, "")
	timed(t, dir, "go", "build", "./...")
	timed(t, dir, "go", "vet", "./...")
	if out := timed(t, dir, "gofmt", "-l", "."); out != "" {
		t.Errorf("gofmt -l after the rename:\n%s", out)
	}
	assertRendered(t, dir)
	if testing.Short() {
		return
	}
	// The clone's own CI, which runs its README's test command (make test).
	gitCommit(t, dir)
	ciRun(t, dir)
}

// TestRenameCopyKeepLab renames a copy with the lab kept: its modules are
// renamed too, and still build against the renamed service.
func TestRenameCopyKeepLab(t *testing.T) {
	t.Parallel()
	root := templateRoot(t)
	dir := t.TempDir()
	copyTree(t, root, dir, func(string) bool { return true })
	gitCommit(t, dir)
	res, err := Run(context.Background(), Options{Dir: dir, Module: "github.com/acme/orders", Name: "orders", KeepLab: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.RemovedLab {
		t.Fatal("Run removed the lab although KeepLab was set")
	}
	assertNoTemplateName(t, dir)
	assertGoMods(t, dir, map[string]string{
		"go.mod":              "module github.com/acme/orders\n",
		"lab/go.mod":          "module github.com/acme/orders/lab\n",
		"lab/bench/go.mod":    "module github.com/acme/orders/lab/bench\n",
		"lab/load/go.mod":     "module github.com/acme/orders/lab/load\n",
		"lab/k8scheck/go.mod": "module github.com/acme/orders/lab/k8scheck\n",
	}, "replace github.com/acme/orders => ../../\n", "lab/bench/go.mod", "lab/load/go.mod")
	if got := readFile(t, dir, "Makefile"); !strings.Contains(got, labBegin) {
		t.Error("the Makefile lost its lab targets although KeepLab was set")
	}
	timed(t, filepath.Join(dir, "lab"), "go", "vet", "./...")
	timed(t, filepath.Join(dir, "lab", "bench"), "go", "build", "./...")
}

// TestGonewThenName does what gonew does (a module zip holds no nested
// module, so no lab; go.mod's module directive and the imports are
// rewritten) and then runs the rename with only a name, as the README tells
// gonew users to.
func TestGonewThenName(t *testing.T) {
	t.Parallel()
	root := templateRoot(t)
	nested := nestedModules(t, root)
	dir := t.TempDir()
	copyTree(t, root, dir, func(rel string) bool {
		return !slices.ContainsFunc(nested, func(m string) bool { return strings.HasPrefix(rel, m+"/") })
	})
	gonew(t, dir, "github.com/acme/orders")

	res, err := Run(context.Background(), Options{Dir: dir, Name: "orders"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Git || res.Plan.FromModule != "github.com/acme/orders" || res.Plan.Module != "github.com/acme/orders" {
		t.Errorf("Run planned %+v (git %v), want github.com/acme/orders kept, no git", res.Plan, res.Git)
	}
	if len(res.Changed) == 0 || res.RemovedLab || len(res.Notes) != 0 {
		t.Fatalf("Run after gonew: changed %v, lab removed %v, notes %q; want changes, no lab to remove, no notes", res.Changed, res.RemovedLab, res.Notes)
	}
	if res, err := Run(context.Background(), Options{Dir: dir, Name: "orders"}); err != nil || len(res.Changed) != 0 {
		t.Errorf("a second Run changed %v (error %v); want nothing", res.Changed, err)
	}
	assertNoTemplateName(t, dir)
	assertNoLab(t, dir)
	timed(t, dir, "go", "build", "./...")
	if out := timed(t, dir, "gofmt", "-l", "."); out != "" {
		t.Errorf("gofmt -l after the rename:\n%s", out)
	}
}

// assertRendered renders the prod overlay and checks that it names the new
// service everywhere.
func assertRendered(tb testing.TB, dir string) {
	tb.Helper()
	rendered := timed(tb, dir, "kubectl", "kustomize", "deploy/overlays/prod")
	for _, want := range []string{
		"app.kubernetes.io/name: orders\n",
		"  name: orders\n  namespace: orders\n",
		"serviceAccountName: orders",
		"image: orders:",
		`up{job="orders"} == 0`,
		"runbook_url: https://github.com/acme/orders/blob/main/deploy/README.md#",
		"orders.json: |",
		`"uid": "orders"`,
	} {
		if !strings.Contains(rendered, want) {
			tb.Errorf("kubectl kustomize deploy/overlays/prod has no %q", want)
		}
	}
	if strings.Contains(strings.ToLower(rendered), TemplateName) {
		tb.Errorf("kubectl kustomize deploy/overlays/prod still names %s", TemplateName)
	}
}

// ciRun runs the clone's .ci/run as CI does, with the template's cache of
// built tools (CI_CACHE), and logs its step lines, which carry the seconds
// since it began.
func ciRun(tb testing.TB, dir string) {
	tb.Helper()
	cache := os.Getenv("CI_CACHE")
	if cache == "" {
		home, err := os.UserCacheDir()
		if err != nil {
			tb.Fatal(err)
		}
		cache = filepath.Join(home, TemplateName)
	}
	cmd := exec.Command("bash", ".ci/run")
	cmd.Dir = dir
	// The template's own run fuzzed the same targets for longer: here the
	// fuzz step only has to work in the clone.
	cmd.Env = append(os.Environ(), "CI=true", "CI_CACHE="+cache, "FUZZTIME=2s")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	var steps []string
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "==> ") {
			steps = append(steps, strings.TrimSpace(line))
		}
	}
	tb.Logf("the renamed clone's .ci/run took %v; its steps:\n%s", time.Since(start).Round(time.Second), strings.Join(steps, "\n"))
	if err != nil {
		tb.Fatalf("the renamed clone's .ci/run: %v; the end of its output:\n%s", err, tail(string(out), 80))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// assertNoLab fails when dir still holds the lab, a lab region marker, or a
// line that names a path under lab/.
func assertNoLab(tb testing.TB, dir string) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(dir, "lab")); !os.IsNotExist(err) {
		tb.Errorf("lab/ is still there (stat: %v)", err)
	}
	labPath := regexp.MustCompile(`(^|[^A-Za-z0-9_.-])lab/|` + labBegin + `|` + labEnd)
	var found []string
	walkText(tb, dir, func(rel string, i int, line string) {
		if labPath.MatchString(line) {
			found = append(found, rel+":"+strconv.Itoa(i)+": "+strings.TrimSpace(line))
		}
	})
	if len(found) > 0 {
		tb.Errorf("%d lines still name the lab after the rename:\n%s", len(found), strings.Join(found[:min(len(found), 30)], "\n"))
	}
}

// templateRoot returns the root of the repository, skipping the test when
// it has already been renamed: there is no template left to rename.
func templateRoot(tb testing.TB) string {
	tb.Helper()
	requireTool(tb, "git")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		tb.Fatal(err)
	}
	mod, err := ModulePath([]byte(readFile(tb, root, "go.mod")))
	if err != nil {
		tb.Fatal(err)
	}
	if mod != TemplateModule {
		tb.Skipf("go.mod declares %s, not the template's %s: this tree has been renamed already", mod, TemplateModule)
	}
	return root
}

// copyTree copies the files a clone of root would have (tracked, or new
// and not ignored, as in the work tree) for which keep is true.
func copyTree(tb testing.TB, root, dst string, keep func(rel string) bool) {
	tb.Helper()
	to := openRoot(tb, dst)
	out := run(tb, root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for rel := range strings.SplitSeq(strings.TrimRight(out, "\x00"), "\x00") {
		src := filepath.Join(root, filepath.FromSlash(rel))
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() || !keep(rel) {
			continue // deleted in the work tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			tb.Fatal(err)
		}
		if err := to.MkdirAll(path.Dir(rel), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := to.WriteFile(rel, data, fi.Mode().Perm()); err != nil {
			tb.Fatal(err)
		}
	}
}

func nestedModules(tb testing.TB, root string) []string {
	tb.Helper()
	var dirs []string
	for rel := range strings.FieldsSeq(run(tb, root, "git", "ls-files", "--", "*/go.mod")) {
		dirs = append(dirs, path.Dir(rel))
	}
	if len(dirs) == 0 {
		tb.Fatal("no nested go.mod: the gonew test expects the lab's modules")
	}
	return dirs
}

// gonew rewrites dir as gonew rewrites its copy of the template: the
// module directive, and every import of the template's packages.
func gonew(tb testing.TB, dir, module string) {
	tb.Helper()
	run(tb, dir, "go", "mod", "edit", "-module", module)
	root := openRoot(tb, dir)
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		src, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		// Replace from the last import so the earlier offsets stay valid.
		out := src
		for _, spec := range slices.Backward(f.Imports) {
			ipath, _ := strconv.Unquote(spec.Path.Value)
			if ipath != TemplateModule && !strings.HasPrefix(ipath, TemplateModule+"/") {
				continue
			}
			start, end := fset.Position(spec.Path.Pos()).Offset, fset.Position(spec.Path.End()).Offset
			quoted := strconv.Quote(module + strings.TrimPrefix(ipath, TemplateModule))
			out = slices.Concat(out[:start:start], []byte(quoted), out[end:])
		}
		if bytes.Equal(out, src) {
			return nil
		}
		return root.WriteFile(p, out, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// assertNoTemplateName fails for every line outside the allowed places
// that still names the template, in any case.
func assertNoTemplateName(tb testing.TB, dir string) {
	tb.Helper()
	var found []string
	walkText(tb, dir, func(rel string, i int, line string) {
		// The rename tool keeps the template's names to recognize them;
		// Run never rewrites its own package.
		if !strings.HasPrefix(rel, selfDir) && strings.Contains(strings.ToLower(line), TemplateName) {
			found = append(found, rel+":"+strconv.Itoa(i)+": "+strings.TrimSpace(line))
		}
	})
	if len(found) > 0 {
		tb.Errorf("%d lines still name %s after the rename:\n%s", len(found), TemplateName, strings.Join(found[:min(len(found), 30)], "\n"))
	}
}

// walkText calls line for every line (numbered from 1) of every file under
// dir outside .git.
func walkText(tb testing.TB, dir string, line func(rel string, i int, line string)) {
	tb.Helper()
	root := openRoot(tb, dir)
	err := fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.Name() == ".git" {
				return fs.SkipDir
			}
			return err
		}
		data, err := root.ReadFile(rel)
		for i, l := range strings.Split(string(data), "\n") {
			line(rel, i+1, l)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// assertGoMods checks the first line of each go.mod, and that the modules
// in replaced still replace the main module with the parent directory.
func assertGoMods(tb testing.TB, dir string, first map[string]string, replace string, replaced ...string) {
	tb.Helper()
	for name, want := range first {
		if got := readFile(tb, dir, name); !strings.HasPrefix(got, want) {
			tb.Errorf("%s starts %q, want %q", name, got[:min(len(got), len(want))], want)
		}
	}
	for _, name := range replaced {
		if got := readFile(tb, dir, name); !strings.Contains(got, replace) {
			tb.Errorf("%s has no %q", name, replace)
		}
	}
}

func openRoot(tb testing.TB, dir string) *os.Root {
	tb.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = root.Close() })
	return root
}

// timed runs a command in dir, logs how long it took and returns its output.
func timed(tb testing.TB, dir, name string, args ...string) string {
	tb.Helper()
	start := time.Now()
	out := run(tb, dir, name, args...)
	tb.Logf("%s %s: %v", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out
}
