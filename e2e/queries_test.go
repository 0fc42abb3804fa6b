package e2e

import (
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/ginstarter/ginstarter/deploy"
)

// The files of deploy/ that hold PromQL, relative to the module root.
const (
	rulesFile        = "deploy/prometheus/rules.yml"
	dashboardFile    = "deploy/grafana/dashboard.json"
	adapterRulesFile = "deploy/components/concurrency-autoscaling/prometheus-adapter-rules.yaml"
)

// expression is one PromQL expression of deploy/, named for where it is.
type expression struct {
	Where string
	Expr  string
	// Data says that the expression must return something once the
	// service has had the test's traffic: a dashboard panel that shows "No
	// data" or a recording rule that records nothing is a bug. Alerts are
	// not held to it: most of them must stay silent here.
	Data bool
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// readRules parses the rule file of deploy/.
func readRules(tb testing.TB, root string) ruleFile {
	tb.Helper()
	var rf ruleFile
	readFile(tb, root, rulesFile, func(data []byte) error { return yaml.Unmarshal(data, &rf) })
	if len(rf.Groups) == 0 {
		tb.Fatalf("%s: no rule groups", rulesFile)
	}
	return rf
}

// ruleExpressions returns the expr of every rule, and the name of every
// recording rule as a query of the series it records.
func ruleExpressions(rf ruleFile) []expression {
	var exprs []expression
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				exprs = append(exprs,
					expression{Where: rulesFile + " record " + r.Record, Expr: r.Expr, Data: true},
					expression{Where: rulesFile + " series recorded by " + r.Record, Expr: r.Record, Data: true})
			} else {
				exprs = append(exprs, expression{Where: rulesFile + " alert " + r.Alert, Expr: r.Expr})
			}
		}
	}
	return exprs
}

// dashboard is the part of the Grafana dashboard that holds queries.
type dashboard struct {
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Query      any    `json:"query"` // a string, or an object in newer Grafana
	IncludeAll bool   `json:"includeAll"`
	AllValue   string `json:"allValue"`
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

// grafanaIntervals are the values given to Grafana's built-in variables:
// those of a dashboard showing the last 5 minutes.
var grafanaIntervals = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__interval_ms":   "15000",
	"__range":         "5m",
	"__range_s":       "300",
	"__range_ms":      "300000",
}

// dashboardExpressions returns every query of the dashboard's panels, rows
// and collapsed rows included, with its variables replaced by the values
// Grafana would give them (see resolveVariables).
func dashboardExpressions(tb testing.TB, p *promServer, root string) []expression {
	tb.Helper()
	var d dashboard
	readFile(tb, root, dashboardFile, func(data []byte) error { return json.Unmarshal(data, &d) })
	values := resolveVariables(tb, p, d.Templating.List)
	var exprs []expression
	var walk func(panels []panel)
	walk = func(panels []panel) {
		for _, pn := range panels {
			for i, target := range pn.Targets {
				ref := target.RefID
				if ref == "" {
					ref = string(rune('A' + i))
				}
				where := dashboardFile + " panel " + `"` + pn.Title + `"` + " query " + ref
				exprs = append(exprs, expression{Where: where, Expr: substitute(tb, where, target.Expr, values), Data: true})
			}
			walk(pn.Panels)
		}
	}
	walk(d.Panels)
	if len(exprs) == 0 {
		tb.Fatalf("%s: no panel queries", dashboardFile)
	}
	return exprs
}

// labelValuesQuery matches Grafana's label_values(label) and
// label_values(series, label).
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\(\s*(?:(.+),\s*)?(\w+)\s*\)\s*$`)

// resolveVariables returns the value of each of the dashboard's variables,
// in order, so that a variable's query may use those before it: a query
// variable runs its label_values query against p, as Grafana does, and
// takes the "All" value when it has one, its first value otherwise. A
// variable that cannot be resolved fails tb.
func resolveVariables(tb testing.TB, p *promServer, vars []variable) map[string]string {
	tb.Helper()
	values := map[string]string{}
	maps.Copy(values, grafanaIntervals)
	for _, v := range vars {
		q, _ := v.Query.(string)
		where := dashboardFile + " variable " + v.Name
		switch v.Type {
		case "datasource":
			values[v.Name] = "prometheus"
		case "constant", "textbox":
			values[v.Name] = q
		case "custom", "interval":
			values[v.Name] = strings.TrimSpace(strings.Split(q, ",")[0])
		case "query":
			m := labelValuesQuery.FindStringSubmatch(q)
			if m == nil {
				tb.Fatalf("%s: query %q is not label_values(...)", where, q)
			}
			params := url.Values{}
			if m[1] != "" {
				params.Set("match[]", substitute(tb, where, m[1], values))
			}
			var found []string
			if err := p.api(tb, "/api/v1/label/"+m[2]+"/values", params, &found); err != nil {
				tb.Fatalf("%s: %s: %v", where, q, err)
			}
			switch {
			case v.IncludeAll && v.AllValue != "":
				values[v.Name] = v.AllValue
			case len(found) == 0:
				tb.Fatalf("%s: %s found no values, so every panel that uses $%s would be empty", where, q, v.Name)
			case v.IncludeAll:
				values[v.Name] = "(" + strings.Join(found, "|") + ")"
			default:
				values[v.Name] = found[0]
			}
		default:
			tb.Fatalf("%s: variable type %q is not handled by this test", where, v.Type)
		}
	}
	return values
}

// grafanaVariable matches $name, ${name}, ${name:format} and [[name]].
var grafanaVariable = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// substitute replaces the Grafana variables in expr with their values. A
// variable the dashboard does not define fails tb: Grafana would leave it
// in the query as text, and the panel would show nothing. ($1 and the like
// are left alone: they are label_replace references.)
func substitute(tb testing.TB, where, expr string, values map[string]string) string {
	tb.Helper()
	return grafanaVariable.ReplaceAllStringFunc(expr, func(ref string) string {
		m := grafanaVariable.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		if v, ok := values[name]; ok {
			return v
		}
		if name[0] < '0' || name[0] > '9' {
			tb.Errorf("%s: uses the variable %s, which the dashboard does not define", where, ref)
		}
		return ref
	})
}

// readAdapterRules returns the rules of the prometheus-adapter
// configuration carried in the concurrency-autoscaling ConfigMap.
func readAdapterRules(tb testing.TB, root string) []deploy.AdapterRule {
	tb.Helper()
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	readFile(tb, root, adapterRulesFile, func(data []byte) error { return yaml.Unmarshal(data, &cm) })
	rules, err := deploy.AdapterRules(cm.Data)
	if err != nil {
		tb.Fatalf("%s: %v", adapterRulesFile, err)
	}
	return rules
}

// adapterQuery is what prometheus-adapter fills a metricsQuery template
// with (its fields have the adapter's names): here, the custom metric of
// the e2e pod, as the HPA asks for it.
type adapterQuery struct {
	Series        string
	LabelMatchers string
	GroupBy       string
	GroupBySlice  []string
}

// adapterExpressions returns the metricsQuery of every prometheus-adapter
// rule, executed as the adapter does: a Go template with << >> delimiters.
func adapterExpressions(tb testing.TB, rules []deploy.AdapterRule) []expression {
	tb.Helper()
	var exprs []expression
	for i, r := range rules {
		where := adapterRulesFile + " rule " + strconv.Itoa(i) + " metricsQuery"
		tmpl, err := template.New(where).Delims("<<", ">>").Parse(r.MetricsQuery)
		if err != nil {
			tb.Fatalf("%s: %v", where, err)
		}
		var b strings.Builder
		err = tmpl.Execute(&b, adapterQuery{
			Series:        r.Name.As,
			LabelMatchers: `namespace="` + targetNamespace + `",pod=~"` + targetPod + `"`,
			GroupBy:       "pod",
			GroupBySlice:  []string{"pod"},
		})
		if err != nil {
			tb.Fatalf("%s: %v", where, err)
		}
		exprs = append(exprs, expression{Where: where, Expr: b.String(), Data: true})
	}
	return exprs
}

// readFile reads the file at rel under root and decodes it with decode.
func readFile(tb testing.TB, root, rel string, decode func([]byte) error) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		tb.Fatal(err)
	}
	if err := decode(data); err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
}
