package config_test

import (
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/config"
)

// FuzzLoad sets two variables of config.Vars to arbitrary values. Load must
// either fail with one line per bad variable, naming it and its value, plus
// lines on bad combinations that name only variables (at least one of them
// set); or succeed with each variable's value in its field. The seed corpus,
// in testdata/fuzz/FuzzLoad, holds valid values, bad ones and clashes.
func FuzzLoad(f *testing.F) {
	vars := config.Vars()
	defaults := mustLoad(f, nil)
	f.Fuzz(func(t *testing.T, name1, value1, name2, value2 string) {
		set := map[string]string{pick(vars, name1): value1}
		set[pick(vars, name2)] = value2
		alone := make(map[string]error, len(set))
		loaded := make(map[string]config.Config, len(set))
		for name, value := range set {
			c, err := config.Load(env(map[string]string{name: value}))
			if alone[name] = err; err == nil {
				loaded[name] = c
				checkField(t, defaults, c, name, value)
			}
		}
		c, err := config.Load(env(set))
		if err != nil {
			checkErrorLines(t, vars, set, alone, err)
			if !reflect.DeepEqual(c, config.Config{}) {
				t.Errorf("Load(%q) returned %+v with its error, want the zero Config", set, c)
			}
			return
		}
		// A variable may fail alone only for its combination with a
		// default, as HTTP_ADDR=:9090 does with ADMIN_ADDR.
		if len(loaded) == len(set) {
			checkMerged(t, defaults, loaded, c)
		}
		again, err := config.Load(env(padded(set)))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Errorf("Load(%q) = %+v, but with spaces around the values: %+v, %v", set, c, again, err)
		}
	})
}

// pick returns the variable called name, or else one chosen by the bytes of
// name, so that every input names some variable.
func pick(vars []config.Var, name string) string {
	sum := 0
	for i := range len(name) {
		sum += int(name[i])
	}
	for _, v := range vars {
		if v.Name == name {
			return name
		}
	}
	return vars[sum%len(vars)].Name
}

// padded returns set with spaces and tabs around every value.
func padded(set map[string]string) map[string]string {
	out := make(map[string]string, len(set))
	for k, v := range set {
		out[k] = " \t" + v + "\t "
	}
	return out
}

// perVariable matches the start of an error line about one variable: its
// name and value, or its name alone for a value that may hold a secret.
var perVariable = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)(=| \(value not shown\): )`)

// hidden is what follows the name of a variable whose value is not shown.
const hidden = " (value not shown): "

// checkErrorLines checks that err has, for every variable of set that fails
// on its own, the line it fails with, naming it and its value; and besides
// those only lines about combinations that name variables, one of them set.
func checkErrorLines(tb testing.TB, vars []config.Var, set map[string]string, alone map[string]error, err error) {
	tb.Helper()
	lines := strings.Split(err.Error(), "\n")
	for name, value := range set {
		line := ownLine(alone[name], name)
		if line == "" {
			continue
		}
		v := strings.TrimSpace(value)
		shown := strings.HasPrefix(line, name+"="+strconv.Quote(v)+": ")
		secret := strings.HasPrefix(line, name+hidden) && (len(v) < 4 || !strings.Contains(line, v))
		if !shown && !secret {
			tb.Errorf("%s=%q alone fails with %q, which does not start with the variable and its value (or hide the value)", name, value, line)
		}
		if !slices.Contains(lines, line) {
			tb.Errorf("Load(%q) = %q, without the line %q that %s fails with alone", set, err, line, name)
		}
	}
	for _, line := range lines {
		if m := perVariable.FindStringSubmatch(line); m != nil {
			if line != ownLine(alone[m[1]], m[1]) {
				tb.Errorf("Load(%q): line %q is not about a variable that fails alone", set, line)
			}
			continue
		}
		checkCombinationLine(tb, vars, set, line)
	}
}

// ownLine returns the line of err about name alone, or "".
func ownLine(err error, name string) string {
	if err == nil {
		return ""
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if strings.HasPrefix(line, name+"=") || strings.HasPrefix(line, name+hidden) {
			return line
		}
	}
	return ""
}

// checkCombinationLine checks that line starts with the names of two or
// more variables, one of them set, and a colon.
func checkCombinationLine(tb testing.TB, vars []config.Var, set map[string]string, line string) {
	tb.Helper()
	head, _, ok := strings.Cut(line, ":")
	names := strings.FieldsFunc(head, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' })
	anySet := false
	for _, n := range names {
		if !slices.ContainsFunc(vars, func(v config.Var) bool { return v.Name == n }) {
			ok = false
		}
		_, isSet := set[n]
		anySet = anySet || isSet
	}
	if !ok || len(names) < 2 || !anySet {
		tb.Errorf("Load(%q): line %q does not name the variables at fault, one of them set", set, line)
	}
}

// checkField checks that setting name to value alone changed at most one
// field of the defaults (of Config, or of a struct in it such as Tracing),
// to the value read back in that field's type.
func checkField(tb testing.TB, defaults, c config.Config, name, value string) {
	tb.Helper()
	changed := changedFields(defaults, c)
	if len(changed) > 1 {
		tb.Fatalf("%s=%q changed %d fields: %+v", name, value, len(changed), c)
	}
	if len(changed) == 0 {
		return
	}
	v := strings.TrimSpace(value)
	field := reflect.ValueOf(c).FieldByIndex(changed[0])
	var ok bool
	switch got := field.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(v)
		ms, errMs := strconv.Atoi(v) // the OTEL_* durations are in milliseconds
		ok = got >= 0 && ((err == nil && d == got) || (errMs == nil && time.Duration(ms)*time.Millisecond == got))
	case float64:
		f, err := strconv.ParseFloat(v, 64)
		ok = err == nil && f == got
	case map[string]string:
		ok = len(got) > 0 && len(got) <= strings.Count(v, ",")+1
	case bool:
		b, err := strconv.ParseBool(v)
		ok = err == nil && b == got
	case string:
		// An endpoint may gain the path of the traces.
		ok = strings.EqualFold(got, v) || strings.HasPrefix(got, strings.TrimSuffix(v, "/")+"/")
	case slog.Level:
		ok = strings.EqualFold(got.String(), v)
	case []string:
		ok = len(got) > 0 && len(got) <= strings.Count(v, ",")+1
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		ok = field.CanInt() && err == nil && n == field.Int() && n >= 0
	}
	if !ok {
		tb.Errorf("%s=%q gave %s = %#v", name, value, reflect.TypeFor[config.Config]().FieldByIndex(changed[0]).Name, field.Interface())
	}
}

// checkMerged checks that c holds, in each field, the value that one of
// loaded changed it to (either, when both changed it, as the two OTLP
// endpoints do), or else the default.
func checkMerged(tb testing.TB, defaults config.Config, loaded map[string]config.Config, c config.Config) {
	tb.Helper()
	for _, path := range fieldPaths(reflect.TypeFor[config.Config](), nil) {
		var want []any
		for _, l := range loaded {
			if slices.ContainsFunc(changedFields(defaults, l), func(p []int) bool { return slices.Equal(p, path) }) {
				want = append(want, reflect.ValueOf(l).FieldByIndex(path).Interface())
			}
		}
		if len(want) == 0 {
			want = append(want, reflect.ValueOf(defaults).FieldByIndex(path).Interface())
		}
		got := reflect.ValueOf(c).FieldByIndex(path).Interface()
		if !slices.ContainsFunc(want, func(w any) bool { return reflect.DeepEqual(got, w) }) {
			tb.Errorf("loading the variables together gave %s = %#v, want one of %#v",
				reflect.TypeFor[config.Config]().FieldByIndex(path).Name, got, want)
		}
	}
}

// fieldPaths returns the index paths of the exported fields of t, going
// into the fields that are structs themselves (Tracing).
func fieldPaths(t reflect.Type, prefix []int) [][]int {
	var out [][]int
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		path := append(slices.Clone(prefix), i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, fieldPaths(f.Type, path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// changedFields returns the index paths of the fields of c that differ
// from defaults.
func changedFields(defaults, c config.Config) [][]int {
	d, v := reflect.ValueOf(defaults), reflect.ValueOf(c)
	var out [][]int
	for _, path := range fieldPaths(v.Type(), nil) {
		if !reflect.DeepEqual(d.FieldByIndex(path).Interface(), v.FieldByIndex(path).Interface()) {
			out = append(out, path)
		}
	}
	return out
}
