// Package deploy holds the service's Kubernetes manifests (kustomize base,
// overlays and components), its Prometheus rules and scrape configuration,
// and its Grafana dashboard; README.md in this directory describes them.
//
// The package has no code of its own. Its tests render every overlay with
// kubectl kustomize and check the result against the service itself: the
// configuration variables and their parsing (package config), the routes the
// probes call (package routes), the metrics the rules and the dashboard query
// (package metrics), and the shutdown timing. They also run promtool on the
// rules and the scrape configuration.
package deploy
