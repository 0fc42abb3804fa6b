package server

import (
	"bufio"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/metrics"
)

// TestReadmeConfigurationTable keeps README.md's configuration table equal
// to config.Vars(): the same variables in the same order, the same defaults
// ("(empty)" for none) and the same descriptions.
func TestReadmeConfigurationTable(t *testing.T) {
	rows := readmeTable(t, "| variable | default | what it does |")
	var readme, code []string
	for _, r := range rows {
		if len(r) != 3 {
			t.Fatalf("README.md configuration row %q: want 3 cells", r)
		}
		readme = append(readme, strings.Join([]string{unquote(r[0]), unquote(r[1]), r[2]}, " | "))
	}
	for _, v := range config.Vars() {
		def := v.Default
		if def == "" {
			def = "(empty)"
		}
		code = append(code, strings.Join([]string{v.Name, def, v.Help}, " | "))
	}
	if d := lineDiff(code, readme); d != "" {
		t.Errorf("README.md's configuration table differs from config.Vars() (- code, + README):\n%s", d)
	}
}

// TestReadmeMetricsTable keeps README.md's metrics table equal to the
// metric families the service registers: every family documented with its
// type and labels, and no row for a metric that does not exist.
func TestReadmeMetricsTable(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.New("test", "test"), metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	metrics.Handler(reg, reg) // registers the scrape counter
	// Vectors show a family only once they have a series.
	r := m.Route("GET", "/v1/items/:id")
	r.Start()
	r.Done(200, time.Millisecond)
	m.Panic("/v1/items/:id")
	m.Shed()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, mf := range mfs {
		labels := map[string]bool{}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		code = append(code, metricRow(mf.GetName(), strings.ToLower(mf.GetType().String()), slices.Sorted(maps.Keys(labels))))
	}

	var readme []string
	var prefixes []string
	for _, row := range readmeTable(t, "| metric | type | labels |") {
		if len(row) != 3 {
			t.Fatalf("README.md metrics row %q: want 3 cells", row)
		}
		names := backticked(row[0])
		if len(names) == 0 {
			t.Fatalf("README.md metrics row %q names no metric in backticks", row)
		}
		if strings.HasSuffix(names[0], "*") { // collectors: documented as a group
			for _, n := range names {
				prefixes = append(prefixes, strings.TrimSuffix(n, "*"))
			}
			continue
		}
		typ, _, _ := strings.Cut(row[1], ":")
		typ, _, _ = strings.Cut(typ, ",")
		labels := backticked(row[2])
		slices.Sort(labels)
		readme = append(readme, metricRow(names[0], strings.TrimSpace(typ), labels))
	}
	// The collectors' families are many and vary with the Go release:
	// the README documents them by prefix.
	code = slices.DeleteFunc(code, func(row string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(row, p) {
				return true
			}
		}
		return false
	})
	slices.Sort(code)
	slices.Sort(readme)
	if d := lineDiff(code, readme); d != "" {
		t.Errorf("README.md's metrics table differs from the registered families (- code, + README; name | type | labels):\n%s", d)
	}
	for _, p := range prefixes {
		if !slices.ContainsFunc(mfs, func(mf *dto.MetricFamily) bool { return strings.HasPrefix(mf.GetName(), p) }) {
			t.Errorf("README.md documents %s*, but no registered family starts with %q", p, p)
		}
	}
}

// TestReadmeListsEveryMakeTarget keeps README.md's list of make targets
// complete: every target of the Makefile appears as `make <target>`.
func TestReadmeListsEveryMakeTarget(t *testing.T) {
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	readme := readReadme(t)
	for _, m := range regexp.MustCompile(`(?m)^([a-z0-9][a-z0-9-]*):`).FindAllStringSubmatch(string(makefile), -1) {
		if !strings.Contains(readme, "`make "+m[1]) {
			t.Errorf("README.md does not list `make %s` (a Makefile target)", m[1])
		}
	}
}

func readReadme(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// readmeTable returns the body rows of the Markdown table in README.md
// whose header line is header, each row split into trimmed cells.
func readmeTable(tb testing.TB, header string) [][]string {
	tb.Helper()
	sc := bufio.NewScanner(strings.NewReader(readReadme(tb)))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == header {
			break
		}
	}
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "|---") {
		tb.Fatalf("README.md has no table with the header %q", header)
	}
	var rows [][]string
	for sc.Scan() && strings.HasPrefix(sc.Text(), "|") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(sc.Text()), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

// unquote strips the backticks around a table cell.
func unquote(s string) string { return strings.TrimSuffix(strings.TrimPrefix(s, "`"), "`") }

var backtickRE = regexp.MustCompile("`([^`]+)`")

// backticked returns the words in backticks in s.
func backticked(s string) []string {
	var out []string
	for _, m := range backtickRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func metricRow(name, typ string, labels []string) string {
	return name + " | " + typ + " | " + strings.Join(labels, ", ")
}

// lineDiff returns a line diff from want to got ("-" only in want, "+"
// only in got, "  " in both), or "" when they are equal.
func lineDiff(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	// lcs[i][j] is the length of the longest common subsequence of
	// want[i:] and got[j:].
	lcs := make([][]int, len(want)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(got)+1)
	}
	for i, w := range slices.Backward(want) {
		for j := len(got) - 1; j >= 0; j-- {
			if w == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case i < len(want) && j < len(got) && want[i] == got[j]:
			b.WriteString("  " + want[i] + "\n")
			i, j = i+1, j+1
		case j < len(got) && (i == len(want) || lcs[i][j+1] >= lcs[i+1][j]):
			b.WriteString("+ " + got[j] + "\n")
			j++
		default:
			b.WriteString("- " + want[i] + "\n")
			i++
		}
	}
	return b.String()
}
