package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	rendered := filepath.Join(dir, "rendered.yaml")
	const stream = "kind: ConfigMap\nmetadata: {name: a, namespace: web}\n---\n" +
		"kind: ClusterRole\nmetadata: {name: b}\n---\nkind: Secret\nmetadata: {name: c, namespace: billing}\n"
	if err := os.WriteFile(rendered, []byte(stream), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		want    string // stdout, when no error is expected
		wantErr string
	}{
		{name: "namespaces", args: []string{"namespaces", rendered}, want: "billing\nweb\n"},
		{name: "namespaces of a missing file", args: []string{"namespaces", filepath.Join(dir, "none.yaml")}, wantErr: "no such file"},
		{name: "schemas without flags", args: []string{"schemas"}, wantErr: "-openapi and -out are required"},
		{name: "unknown command", args: []string{"lint"}, wantErr: `unknown command "lint"`},
		{name: "no command", wantErr: "usage:"},
		{name: "freeports not a number", args: []string{"freeports", "x"}, wantErr: "not a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(tt.args, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("run(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("run(%q): %v", tt.args, err)
			}
			if out.String() != tt.want {
				t.Errorf("run(%q) printed %q, want %q", tt.args, out.String(), tt.want)
			}
		})
	}
}

func TestFreeports(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"freeports", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	ports := strings.Fields(out.String())
	seen := map[string]bool{}
	for _, p := range ports {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			t.Errorf("%q is not a port", p)
		}
		seen[p] = true
	}
	if len(ports) != 3 || len(seen) != 3 {
		t.Errorf("freeports 3 printed %q, want 3 different ports", ports)
	}
}
