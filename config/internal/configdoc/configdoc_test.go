package configdoc_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/config/internal/configdoc"
)

const table = "| variable |\n|---|\n| `A` |\n"

func TestSplice(t *testing.T) {
	const (
		begin = configdoc.BeginMarker + "\n"
		end   = configdoc.EndMarker + "\n"
	)
	tests := []struct {
		name, readme string
		want         string // "" when Splice must fail
		wantErr      string // part of the error
	}{
		{"replaces the old table", "# T\n\n" + begin + "\n| old |\n\n" + end + "\nafter\n", "# T\n\n" + begin + "\n" + table + "\n" + end + "\nafter\n", ""},
		{"markers next to each other", begin + end, begin + "\n" + table + "\n" + end, ""},
		{"indented markers, no final newline", "  " + begin + "x\n  " + configdoc.EndMarker, "  " + begin + "\n" + table + "\n  " + configdoc.EndMarker, ""},
		{"no markers", "# T\n| old |\n", "", "no marker line " + configdoc.BeginMarker},
		{"no end marker", begin + "| old |\n", "", "no marker line " + configdoc.EndMarker},
		{"marker inside a line", "see " + configdoc.BeginMarker + "\n" + end, "", "no marker line " + configdoc.BeginMarker},
		{"end first", end + begin, "", "comes before"},
		{"two begin markers", begin + begin + end, "", "lines 1 and 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configdoc.Splice([]byte(tt.readme), table)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Splice(%q) = %q, %v; want an error containing %q", tt.readme, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Splice(%q) = %q, %v; want %q", tt.readme, got, err, tt.want)
			}
			again, err := configdoc.Splice(got, table)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("splicing the result again changed it: %q, %v", again, err)
			}
		})
	}
}

func TestFilesFollowVars(t *testing.T) {
	root := fstest.MapFS{configdoc.ReadmeFile: {Data: []byte("intro\n" + configdoc.BeginMarker + "\n" + configdoc.EndMarker + "\nend\n")}}
	vars := config.Vars()[:2]
	vars[1].Default = ""
	vars[1].Help = "a | b"
	files, err := configdoc.Files(root, vars)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Name] = string(f.Data)
	}
	env := got[configdoc.EnvExampleFile]
	for _, want := range []string{
		"\n# " + vars[0].Help + " (default: " + vars[0].Default + ")\n" + vars[0].Name + "=" + vars[0].Default + "\n",
		"\n# a | b (default: empty)\n" + vars[1].Name + "=\n",
	} {
		if !strings.Contains(env, want) {
			t.Errorf(".env.example lacks %q:\n%s", want, env)
		}
	}
	readme := got[configdoc.ReadmeFile]
	for _, want := range []string{
		"| `" + vars[0].Name + "` | `" + vars[0].Default + "` | " + vars[0].Help + " |\n",
		"| `" + vars[1].Name + "` | (empty) | a \\| b |\n",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q:\n%s", want, readme)
		}
	}
	if !strings.HasPrefix(readme, "intro\n") || !strings.HasSuffix(readme, "\nend\n") {
		t.Errorf("README.md changed outside the markers:\n%s", readme)
	}
}

func TestFilesRejectsMultiLineText(t *testing.T) {
	root := fstest.MapFS{configdoc.ReadmeFile: {Data: []byte(configdoc.BeginMarker + "\n" + configdoc.EndMarker + "\n")}}
	vars := config.Vars()[:1]
	vars[0].Help = "first line\nsecond line"
	if _, err := configdoc.Files(root, vars); err == nil || !strings.Contains(err.Error(), vars[0].Name) {
		t.Errorf("Files with a two-line description: error %v, want one naming %s", err, vars[0].Name)
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name, have, want, diff string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"changed line", "a\nb\nc\nd\ne\nf\n", "a\nb\nc\nX\ne\nf\n", "@@ line 4 @@\n  b\n  c\n- d\n+ X\n  e\n  f\n"},
		{"added line", "a\nb\n", "a\nnew\nb\n", "@@ line 2 @@\n  a\n+ new\n  b\n  \n"},
		{"removed line at the end", "a\nb\n", "a\n", "@@ line 2 @@\n  a\n- b\n  \n"},
		{"empty file", "", "a\n", "@@ line 1 @@\n+ a\n  \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := configdoc.Diff([]byte(tt.have), []byte(tt.want)); got != tt.diff {
				t.Errorf("Diff(%q, %q) =\n%s\nwant\n%s", tt.have, tt.want, got, tt.diff)
			}
		})
	}
}
