// Package deploy holds the service's Kubernetes manifests (kustomize base,
// overlays and components), its Prometheus rules and scrape configuration,
// and its Grafana dashboard; README.md in this directory describes them.
//
// Its only code reads the prometheus-adapter rules (AdapterRules), for its
// own tests and the end-to-end tests. Its tests render every overlay with
// kubectl kustomize and check the result against the service itself: the
// configuration variables and their parsing (package config), the routes the
// probes call (package routes), the metrics the rules and the dashboard query
// (package metrics), and the shutdown timing. They also run promtool on the
// rules and the scrape configuration, and follow the tracing setup: the
// OTEL_* variables the pods get, and the exemplars' way from the service's
// /metrics through the scrape configurations to Grafana's trace link.
package deploy
