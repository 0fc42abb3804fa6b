package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ginstarter/ginstarter/lab/rename"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "go.mod", "module "+rename.TemplateModule+"\n")
	write(t, dir, "deploy/service.yaml", "metadata:\n  name: "+rename.TemplateName+"\n")
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr []string
	}{
		{"every bad argument named", []string{"-dir", dir, "-module", "acme/orders", "-name", "Orders"}, "",
			[]string{`-module "acme/orders": the first element "acme" is not a host name`, `-name "Orders": 'O' is not allowed`}},
		{"module required from the template", []string{"-dir", dir, "-name", "orders"}, "",
			[]string{"-module: required"}},
		{"positional arguments", []string{"github.com/acme/orders", "orders"}, "",
			[]string{"unexpected arguments"}},
		{"rename", []string{"-dir", dir, "-module", "github.com/acme/orders", "-name", "orders", "-v"},
			"    1  deploy/service.yaml\n    1  go.mod\nrenamed " + rename.TemplateModule + " to github.com/acme/orders and " + rename.TemplateName + " to orders: 2 replacements in 2 files\n" +
				"next: go build ./... && make test\n",
			nil},
		{"again, after gonew or a first run", []string{"-dir", dir, "-name", "orders"},
			"nothing to rename: no file under " + dir + " names " + rename.TemplateModule + " or " + rename.TemplateName + "\n",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("run error %v, want it to contain %q", err, w)
				}
			}
			if got := stdout.String(); got != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, tt.wantOut)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "deploy", "service.yaml")); string(got) != "metadata:\n  name: orders\n" {
		t.Errorf("deploy/service.yaml after the rename:\n%s", got)
	}
}

func write(tb testing.TB, dir, name, data string) {
	tb.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
