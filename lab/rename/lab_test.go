package rename

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStripLab(t *testing.T) {
	tests := []struct {
		name, in, want string
		regions        int
		err            string // part of the error; empty: none
	}{
		{"no region", "a\nb\n", "a\nb\n", 0, ""},
		{"two regions", "a\n# template-lab:begin\nb\n# template-lab:end\nc\n<!-- template-lab:begin -->\nd\n<!-- template-lab:end -->\n", "a\nc\n", 2, ""},
		{"last line without newline", "a\n# template-lab:begin\nb\n# template-lab:end", "a\n", 1, ""},
		{"never closed", "a\n# template-lab:begin\nb\n", "", 0, "f:2: template-lab:begin is never closed"},
		{"end alone", "a\n# template-lab:end\n", "", 0, "f:2: template-lab:end without a template-lab:begin"},
		{"nested", "# template-lab:begin\n# template-lab:begin\n# template-lab:end\n", "", 0, "f:2: template-lab:begin inside the region opened on line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := stripLab("f", tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("stripLab = %q, %v; want an error with %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || n != tt.regions {
				t.Errorf("stripLab = %q, %d, %v; want %q, %d", got, n, err, tt.want, tt.regions)
			}
		})
	}
}

// labTree is a template with a lab, a Makefile whose lab targets are
// marked, and a README that names the lab in a marked region.
func labTree(tb testing.TB) string {
	tb.Helper()
	return writeTree(tb, map[string]string{
		"go.mod":             "module " + TemplateModule + "\n",
		"Makefile":           "BINARY ?= ginstarter\n# template-lab:begin\nrename:\n\tcd lab && go run ./cmd/rename\n# template-lab:end\n",
		"README.md":          "# ginstarter\n<!-- template-lab:begin -->\nmake rename first.\n<!-- template-lab:end -->\n",
		"lab/go.mod":         "module " + TemplateModule + "/lab\n",
		"lab/rename/keep.go": "package rename // " + TemplateName + "\n",
		"lab/bench/x.go":     "package bench // " + TemplateName + "\n",
	})
}

func TestRunRemovesTheLab(t *testing.T) {
	dir := labTree(t)
	res, err := Run(context.Background(), Options{Dir: dir, Module: "github.com/acme/orders", Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.RemovedLab {
		t.Error("Result.RemovedLab is false")
	}
	if _, err := os.Stat(filepath.Join(dir, "lab")); !os.IsNotExist(err) {
		t.Errorf("lab/ is still there (stat: %v)", err)
	}
	if got, want := readFile(t, dir, "Makefile"), "BINARY ?= orders\n"; got != want {
		t.Errorf("Makefile:\n%s\nwant:\n%s", got, want)
	}
	if got, want := readFile(t, dir, "README.md"), "# orders\n"; got != want {
		t.Errorf("README.md:\n%s\nwant:\n%s", got, want)
	}
	if res, err := Run(context.Background(), Options{Dir: dir, Name: "orders"}); err != nil || len(res.Changed) != 0 || res.RemovedLab {
		t.Errorf("a second Run: changed %v, removed the lab %v, error %v; want nothing", res.Changed, res.RemovedLab, err)
	}
}

func TestRunKeepLab(t *testing.T) {
	dir := labTree(t)
	opts := Options{Dir: dir, Module: "github.com/acme/orders", Name: "orders", KeepLab: true}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.RemovedLab {
		t.Error("Result.RemovedLab is true with KeepLab")
	}
	for file, want := range map[string]string{
		"Makefile":           "BINARY ?= orders\n# template-lab:begin\nrename:\n\tcd lab && go run ./cmd/rename\n# template-lab:end\n",
		"lab/go.mod":         "module github.com/acme/orders/lab\n",
		"lab/bench/x.go":     "package bench // orders\n",
		"lab/rename/keep.go": "package rename // " + TemplateName + "\n", // the tool keeps the names it replaces
	} {
		if got := readFile(t, dir, file); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", file, got, want)
		}
	}
}

func TestRunRefusesAnOpenLabRegion(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"go.mod":   "module " + TemplateModule + "\n",
		"Makefile": "BINARY ?= ginstarter\n# template-lab:begin\nrename:\n",
		"lab/x.go": "package x\n",
	})
	_, err := Run(context.Background(), Options{Dir: dir, Module: "github.com/acme/orders", Name: "orders"})
	if err == nil || !strings.Contains(err.Error(), "Makefile:2: template-lab:begin is never closed") {
		t.Fatalf("Run = %v, want the open region named", err)
	}
	if got := readFile(t, dir, "go.mod"); got != "module "+TemplateModule+"\n" {
		t.Errorf("go.mod was rewritten although Run failed:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "lab", "x.go")); err != nil {
		t.Errorf("lab/ was removed although Run failed: %v", err)
	}
}

func TestNewPlanKeepLabNeedsALab(t *testing.T) {
	dir := writeTree(t, map[string]string{"go.mod": "module github.com/acme/orders\n"})
	_, err := NewPlan(Options{Dir: dir, Name: "orders", KeepLab: true})
	if err == nil || !strings.Contains(err.Error(), "-keep-lab") {
		t.Fatalf("NewPlan = %v, want an error naming -keep-lab", err)
	}
}
