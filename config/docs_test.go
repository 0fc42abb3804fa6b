package config_test

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/joho/godotenv"

	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/config/internal/configdoc"
)

// moduleRoot is where .env.example and README.md are, seen from config/.
const moduleRoot = ".."

// TestGeneratedDocsAreCurrent fails when .env.example or the configuration
// table of README.md differ from what `go generate ./...` writes from
// config.Vars, and shows how they differ.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	root := os.DirFS(moduleRoot)
	files, err := configdoc.Files(root, config.Vars())
	if err != nil {
		t.Fatalf("generating the configuration docs: %v", err)
	}
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			have, err := fs.ReadFile(root, f.Name)
			if errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s is missing: run `go generate ./...`", f.Name)
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := configdoc.Diff(have, f.Data); d != "" {
				t.Errorf("%s is out of date with config.Vars: run `go generate ./...` (- in the file, + generated):\n%s", f.Name, d)
			}
		})
	}
}

// TestEnvExampleLoads reads .env.example as the service reads .env: it must
// set every variable to its default, and nothing else.
func TestEnvExampleLoads(t *testing.T) {
	values, err := godotenv.Read(moduleRoot + "/" + configdoc.EnvExampleFile)
	if err != nil {
		t.Fatal(err)
	}
	vars := config.Vars()
	for _, v := range vars {
		if got, ok := values[v.Name]; !ok || got != v.Default {
			t.Errorf(".env.example sets %s=%q (present %v), want its default %q", v.Name, got, ok, v.Default)
		}
	}
	if len(values) != len(vars) {
		t.Errorf(".env.example sets %d variables, config.Vars has %d", len(values), len(vars))
	}
	if _, err := config.Load(func(k string) string { return values[k] }); err != nil {
		t.Errorf(".env.example does not load: %v", err)
	}
}
