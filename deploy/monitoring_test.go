package deploy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ginstarter/ginstarter/config"
)

var update = flag.Bool("update", false, "rewrite components/prometheus-operator/prometheusrule.yaml from prometheus/rules.yml")

// Files of the monitoring kit, relative to this directory.
const (
	rulesFile          = "prometheus/rules.yml"
	rulesTestFile      = "prometheus/rules_test.yml"
	scrapeConfigFile   = "prometheus/scrape-config.yml"
	prometheusRuleFile = "components/prometheus-operator/prometheusrule.yaml"
	dashboardFile      = "grafana/dashboard.json"
	readmeFile         = "README.md"
)

// runbookBase is where every alert's runbook_url points, followed by the
// anchor of the alert's section.
const runbookBase = "https://github.com/ginstarter/ginstarter/blob/main/deploy/README.md"

// prometheusRuleHeader starts the generated PrometheusRule; rules.yml from
// its groups: line on follows, indented under spec.
const prometheusRuleHeader = `# Generated from deploy/prometheus/rules.yml: do not edit. Change rules.yml,
# then run
#   go test ./deploy -run TestPrometheusRuleIsGenerated -update
# The test fails while this file and rules.yml differ.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: ginstarter
  labels:
    app.kubernetes.io/name: ginstarter
spec:
`

// prometheusRule returns the PrometheusRule manifest holding the groups of
// a Prometheus rule file, comments included.
func prometheusRule(src []byte) ([]byte, error) {
	start := bytes.Index(src, []byte("\ngroups:"))
	if start < 0 {
		return nil, fmt.Errorf("%s: no top-level groups: line", rulesFile)
	}
	var b bytes.Buffer
	b.WriteString(prometheusRuleHeader)
	for _, line := range strings.SplitAfter(string(src[start+1:]), "\n") {
		if strings.TrimSpace(line) == "" {
			b.WriteString(strings.TrimLeft(line, " \t")) // no trailing blanks
			continue
		}
		b.WriteString("  " + line)
	}
	return b.Bytes(), nil
}

func TestPrometheusRuleIsGenerated(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	want, err := prometheusRule(rules)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not generated from %s: run\n\tgo test ./deploy -run TestPrometheusRuleIsGenerated -update", prometheusRuleFile, rulesFile)
	}
}

// Rule files as Prometheus reads them (the fields the tests use).
type (
	ruleFile struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	rule struct {
		Record      string            `yaml:"record"`
		Alert       string            `yaml:"alert"`
		Expr        string            `yaml:"expr"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
)

// readYAML decodes the YAML file at path into v.
func readYAML(tb testing.TB, path string, v any) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// rules returns every rule of rules.yml.
func rules(tb testing.TB) []rule {
	tb.Helper()
	var f ruleFile
	readYAML(tb, rulesFile, &f)
	var all []rule
	for _, g := range f.Groups {
		all = append(all, g.Rules...)
	}
	return all
}

// checkMonitoring checks the Prometheus Operator and Grafana objects of an
// overlay: the ServiceMonitor scrapes the admin listener's /metrics through
// the Service, the PrometheusRule holds exactly the groups of rules.yml, and
// the dashboard ConfigMap holds dashboard.json.
func checkMonitoring(tb testing.TB, objs objects, c container, cfg config.Config) {
	tb.Helper()
	var sm struct {
		Spec struct {
			Selector  labelSelector `yaml:"selector"`
			Endpoints []struct {
				Port     string `yaml:"port"`
				Path     string `yaml:"path"`
				Interval string `yaml:"interval"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	objs.get(tb, "ServiceMonitor", appName).decode(tb, &sm)
	svcObj := objs.get(tb, "Service", appName)
	if !selects(sm.Spec.Selector.MatchLabels, svcObj.Metadata.Labels) {
		tb.Errorf("ServiceMonitor selector %v does not select the Service (labels %v)", sm.Spec.Selector.MatchLabels, svcObj.Metadata.Labels)
	}
	var svc service
	svcObj.decode(tb, &svc)
	if len(sm.Spec.Endpoints) != 1 {
		tb.Fatalf("ServiceMonitor: want one endpoint, got %d", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	i := slices.IndexFunc(svc.Spec.Ports, func(p servicePort) bool { return p.Name == ep.Port })
	if i < 0 || probePort(tb, c, svc.Spec.Ports[i].TargetPort) != c.port(tb, portMetrics) {
		tb.Errorf("ServiceMonitor scrapes Service port %q, want the one targeting container port %q", ep.Port, portMetrics)
	}
	if ep.Interval != "15s" {
		tb.Errorf("ServiceMonitor interval %q, want 15s", ep.Interval)
	}
	if got := get(tb, listeners(tb, cfg, true), c.port(tb, portMetrics), ep.Path); got != 200 {
		tb.Errorf("ServiceMonitor path %q answers %d on the metrics port, want 200", ep.Path, got)
	}

	var want map[string]any
	readYAML(tb, rulesFile, &want)
	var pr struct {
		Spec map[string]any `yaml:"spec"`
	}
	objs.get(tb, "PrometheusRule", appName).decode(tb, &pr)
	if !reflect.DeepEqual(pr.Spec, want) {
		tb.Errorf("the rendered PrometheusRule's spec differs from %s: regenerate it (TestPrometheusRuleIsGenerated -update)", rulesFile)
	}

	dashboard, err := os.ReadFile(dashboardFile)
	if err != nil {
		tb.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	cmObj := objs.get(tb, "ConfigMap", appName+"-dashboard")
	cmObj.decode(tb, &cm)
	if cmObj.Metadata.Labels["grafana_dashboard"] != "1" {
		tb.Error(`the dashboard ConfigMap lacks the label grafana_dashboard: "1" that Grafana's sidecar looks for`)
	}
	if cm.Data[appName+".json"] != string(dashboard) {
		tb.Errorf("the dashboard ConfigMap does not hold %s", dashboardFile)
	}
}

// githubAnchor returns the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestAlertsAreDocumentedAndTested(t *testing.T) {
	readme, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(readme), -1) {
		anchors[githubAnchor(m[1])] = true
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []struct {
					ExpLabels      map[string]string `yaml:"exp_labels"`
					ExpAnnotations map[string]string `yaml:"exp_annotations"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, rulesTestFile, &tests)

	alerts := 0
	for _, r := range rules(t) {
		if r.Alert == "" {
			continue
		}
		alerts++
		t.Run(r.Alert, func(t *testing.T) {
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("severity %q, want critical (pages) or warning", s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("no %s annotation", a)
				}
			}
			anchor := githubAnchor(r.Alert)
			if want := runbookBase + "#" + anchor; r.Annotations["runbook_url"] != want {
				t.Errorf("runbook_url %q, want %q", r.Annotations["runbook_url"], want)
			}
			if !anchors[anchor] {
				t.Errorf("%s has no section (heading) %q for the runbook", readmeFile, r.Alert)
			}
			fires, quiet := false, false
			for _, group := range tests.Tests {
				for _, at := range group.AlertRuleTest {
					if at.Alertname != r.Alert {
						continue
					}
					quiet = quiet || len(at.ExpAlerts) == 0
					for _, exp := range at.ExpAlerts {
						fires = fires || (exp.ExpLabels["severity"] != "" && len(exp.ExpAnnotations) == 3)
					}
				}
			}
			if !fires || !quiet {
				t.Errorf("%s: want a case where the alert fires (with its labels and all three annotations) and one where it does not; fires %v, quiet %v",
					rulesTestFile, fires, quiet)
			}
		})
	}
	if alerts == 0 {
		t.Fatalf("no alerts in %s", rulesFile)
	}
}

// promtool returns the promtool to run: $PROMTOOL, or promtool on PATH. The
// test is skipped when there is none.
func promtool(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		tb.Skip("promtool is not on PATH, so the rules and the scrape configuration are not checked: install it (Debian: apt-get install prometheus) or set PROMTOOL; CI installs it")
	}
	return p
}

func TestPromtool(t *testing.T) {
	tool := promtool(t)
	tests := []struct {
		name string
		args []string
	}{
		{"check rules", []string{"check", "rules", rulesFile}},
		{"test rules", []string{"test", "rules", rulesTestFile}},
		{"check config", []string{"check", "config", scrapeConfigFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(tool, tt.args...).CombinedOutput()
			if err != nil && tt.args[1] == "config" && bytes.Contains(out, []byte("field kubernetes_sd_configs not found")) {
				// Debian builds Prometheus without Kubernetes service
				// discovery. Check everything else with a stand-in.
				t.Logf("%s has no Kubernetes service discovery (Debian's build); checking %s with kubernetes_sd_configs replaced by static_configs", tool, scrapeConfigFile)
				out, err = exec.Command(tool, "check", "config", withoutKubernetesSD(t, scrapeConfigFile)).CombinedOutput()
			}
			if err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(tt.args, " "), err, out)
			}
		})
	}
}

// withoutKubernetesSD writes a copy of the Prometheus configuration at path
// in which every kubernetes_sd_configs becomes a static target, after
// checking its role, and returns the copy's path.
func withoutKubernetesSD(tb testing.TB, path string) string {
	tb.Helper()
	var cfg map[string]any
	readYAML(tb, path, &cfg)
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		tb.Fatal(err)
	}
	files, _ := cfg["rule_files"].([]any)
	for i, f := range files {
		files[i] = filepath.Join(abs, fmt.Sprint(f))
	}
	roles := []string{"node", "service", "pod", "endpoints", "endpointslice", "ingress"}
	scrapes, _ := cfg["scrape_configs"].([]any)
	for _, s := range scrapes {
		sc, _ := s.(map[string]any)
		sds, _ := sc["kubernetes_sd_configs"].([]any)
		for _, sd := range sds {
			role, _ := sd.(map[string]any)["role"].(string)
			if !slices.Contains(roles, role) {
				tb.Errorf("%s: kubernetes_sd_configs role %q, want one of %v", path, role, roles)
			}
		}
		delete(sc, "kubernetes_sd_configs")
		sc["static_configs"] = []any{map[string]any{"targets": []any{"localhost:9090"}}}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	copyPath := filepath.Join(tb.TempDir(), "scrape-config.yml")
	if err := os.WriteFile(copyPath, out, 0o644); err != nil {
		tb.Fatal(err)
	}
	return copyPath
}
