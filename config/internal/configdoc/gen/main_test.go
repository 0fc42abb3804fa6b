package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/config/internal/configdoc"
)

// TestRunWritesBothFiles runs the generator on a module root holding only a
// README with the markers: it writes .env.example, fills the table, and a
// second run leaves both files untouched.
func TestRunWritesBothFiles(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, configdoc.ReadmeFile)
	writeFile(t, readme, "# Service\n\n"+configdoc.BeginMarker+"\n"+configdoc.EndMarker+"\n\nMore.\n")
	if err := run([]string{"-root", dir}); err != nil {
		t.Fatal(err)
	}
	env := readFile(t, filepath.Join(dir, configdoc.EnvExampleFile))
	for _, v := range config.Vars() {
		if !strings.Contains(env, "\n"+v.Name+"="+v.Default+"\n") {
			t.Errorf(".env.example lacks %s=%s", v.Name, v.Default)
		}
		if !strings.Contains(readFile(t, readme), "| `"+v.Name+"` |") {
			t.Errorf("README.md's table lacks %s", v.Name)
		}
	}

	// An mtime in the past shows whether the second run rewrote a file.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, name := range []string{configdoc.ReadmeFile, configdoc.EnvExampleFile} {
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{"-root", dir}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{configdoc.ReadmeFile, configdoc.EnvExampleFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !info.ModTime().Equal(old) {
			t.Errorf("a second run rewrote %s, which was current", name)
		}
	}
}

// TestRunWithoutMarkersFails: a README without the marker lines is an
// error that says what to add, and nothing is written.
func TestRunWithoutMarkersFails(t *testing.T) {
	dir := t.TempDir()
	const text = "# Service\n\n| variable | default | what it does |\n"
	writeFile(t, filepath.Join(dir, configdoc.ReadmeFile), text)
	err := run([]string{"-root", dir})
	if err == nil || !strings.Contains(err.Error(), configdoc.BeginMarker) || !strings.Contains(err.Error(), configdoc.ReadmeFile) {
		t.Fatalf("run = %v, want an error naming README.md and %s", err, configdoc.BeginMarker)
	}
	if got := readFile(t, filepath.Join(dir, configdoc.ReadmeFile)); got != text {
		t.Errorf("README.md changed to %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, configdoc.EnvExampleFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".env.example was written (stat: %v)", err)
	}
}

func writeFile(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}
