package clustercheck

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PrometheusConfig turns the shipped plain scrape configuration
// (deploy/prometheus/scrape-config.yml) into one that a Prometheus outside
// the cluster can use, changing only what that needs: each Kubernetes
// service discovery gets the cluster's kubeconfig (in the cluster it uses
// the pod's service account), and the global scrape interval is
// scrapeInterval so that a test need not wait 15 s per scrape. The rule
// files it names are copied next to it. It returns the new file's path.
func PrometheusConfig(shipped, dir, kubeconfig, scrapeInterval string) (string, error) {
	b, err := os.ReadFile(shipped) //nolint:gosec // G304: the configuration the caller names
	if err != nil {
		return "", err
	}
	var out []string
	sd, global := 0, false
	for line := range strings.SplitSeq(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		switch {
		case line == "global:":
			global = true
		case indent == "" && trimmed != "" && !strings.HasPrefix(trimmed, "#"):
			global = false
		}
		if global && (strings.HasPrefix(trimmed, "scrape_interval:") || strings.HasPrefix(trimmed, "scrape_timeout:")) {
			key, _, _ := strings.Cut(trimmed, ":")
			line = indent + key + ": " + scrapeInterval
		}
		out = append(out, line)
		if strings.HasPrefix(trimmed, "- role:") {
			out = append(out, indent+"  kubeconfig_file: "+kubeconfig)
			sd++
		}
		if strings.HasPrefix(trimmed, "- ") && strings.HasSuffix(trimmed, ".yml") && strings.Contains(string(b), "rule_files:") {
			rule := strings.TrimSpace(strings.TrimPrefix(trimmed, "- "))
			src := filepath.Join(filepath.Dir(shipped), rule)
			if data, err := os.ReadFile(src); err == nil { //nolint:gosec // G304: a rule file that the shipped configuration names, next to it
				if err := os.WriteFile(filepath.Join(dir, rule), data, 0o600); err != nil { //nolint:gosec // G703: a rule file that the shipped configuration names
					return "", err
				}
			}
		}
	}
	if sd == 0 {
		return "", fmt.Errorf("%s has no kubernetes_sd_configs role: nothing to discover", shipped)
	}
	path := filepath.Join(dir, "prometheus.yml")
	return path, os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o600)
}

// Sample is one series of an instant query's result.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Query runs an instant PromQL query against the Prometheus at base.
func Query(base, q string) ([]Sample, error) {
	body, err := httpGet(context.Background(), base+"/api/v1/query?query="+url.QueryEscape(q))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", q, err, body)
	}
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, err
	}
	var s []Sample
	for _, x := range r.Data.Result {
		v, err := strconv.ParseFloat(fmt.Sprint(x.Value[1]), 64)
		if err != nil {
			return nil, err
		}
		s = append(s, Sample{Labels: x.Metric, Value: v})
	}
	return s, nil
}

// Target is one of Prometheus's active scrape targets.
type Target struct {
	Labels    map[string]string
	Health    string
	LastError string
	ScrapeURL string
}

// Targets returns the active targets of a scrape job.
func Targets(base, job string) ([]Target, error) {
	body, err := httpGet(context.Background(), base+"/api/v1/targets?state=active")
	if err != nil {
		return nil, err
	}
	var r struct {
		Data struct {
			ActiveTargets []Target
		}
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, err
	}
	var t []Target
	for _, x := range r.Data.ActiveTargets {
		if x.Labels["job"] == job {
			t = append(t, x)
		}
	}
	return t, nil
}
