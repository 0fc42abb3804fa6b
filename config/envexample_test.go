package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/joho/godotenv"

	"github.com/ginstarter/ginstarter/config"
)

// TestEnvExampleListsEveryVariable keeps .env.example in step with the
// code: every variable with its default and its description, and nothing
// the code does not read.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	const path = "../.env.example"
	values, err := godotenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
		t.Run(v.Name, func(t *testing.T) {
			got, ok := values[v.Name]
			if !ok {
				t.Fatalf("%s is missing from .env.example", v.Name)
			}
			if got != v.Default {
				t.Errorf(".env.example sets %s=%q, want the default %q", v.Name, got, v.Default)
			}
			if !strings.Contains(string(raw), "# "+v.Help) {
				t.Errorf(".env.example lacks the description of %s: %q", v.Name, v.Help)
			}
		})
	}
	for name := range values {
		if !known[name] {
			t.Errorf(".env.example sets %s, which the service does not read", name)
		}
	}
	if _, err := config.Load(func(k string) string { return values[k] }); err != nil {
		t.Errorf(".env.example does not load: %v", err)
	}
}
