package deploy

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// AdapterRule is one rule of prometheus-adapter's configuration, as the
// concurrency-autoscaling component ships it.
type AdapterRule struct {
	SeriesQuery string `yaml:"seriesQuery"`
	Name        struct {
		As string `yaml:"as"`
	} `yaml:"name"`
	MetricsQuery string `yaml:"metricsQuery"`
}

// AdapterRules parses the rules of a prometheus-adapter ConfigMap's data,
// which carries the configuration under the key config.yaml. It fails when
// the configuration does not parse or holds no rule.
func AdapterRules(data map[string]string) ([]AdapterRule, error) {
	var cfg struct {
		Rules []AdapterRule `yaml:"rules"`
	}
	if err := yaml.Unmarshal([]byte(data["config.yaml"]), &cfg); err != nil {
		return nil, fmt.Errorf("config.yaml: %w", err)
	}
	if len(cfg.Rules) == 0 {
		return nil, errors.New("config.yaml: no rules")
	}
	return cfg.Rules, nil
}
