package deploy

import (
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"
)

// labelSelector is the matchLabels part of a Kubernetes label selector.
type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// checkReplicas checks who owns the replica count and that the
// PodDisruptionBudget lets a node drain proceed at the lowest replica count
// while keeping minAvailable pods.
func checkReplicas(tb testing.TB, objs objects, d deployment, replicas, hpaMin, minAvailable int) {
	tb.Helper()
	floor := replicas
	if hpaMin > 0 {
		// An applied replicas field would reset the HPA's count on every
		// kubectl apply.
		if d.Spec.Replicas != nil {
			tb.Errorf("the Deployment sets replicas: %d, but an HPA owns the count", *d.Spec.Replicas)
		}
		checkHPA(tb, objs, hpaMin)
		floor = hpaMin
	} else {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
			tb.Errorf("the Deployment does not set replicas: %d", replicas)
		}
		if n := len(objs.ofKind("HorizontalPodAutoscaler")); n > 0 {
			tb.Errorf("want no HPA, got %d", n)
		}
	}

	var pdb struct {
		Spec struct {
			MinAvailable   any           `yaml:"minAvailable"`
			MaxUnavailable any           `yaml:"maxUnavailable"`
			Selector       labelSelector `yaml:"selector"`
		} `yaml:"spec"`
	}
	objs.get(tb, "PodDisruptionBudget", appName).decode(tb, &pdb)
	if !selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
		tb.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector.MatchLabels)
	}
	var keep int
	switch {
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MaxUnavailable == nil:
		keep = scaled(tb, pdb.Spec.MinAvailable, floor)
	case pdb.Spec.MaxUnavailable != nil && pdb.Spec.MinAvailable == nil:
		keep = floor - scaled(tb, pdb.Spec.MaxUnavailable, floor)
	default:
		tb.Fatalf("PodDisruptionBudget: set exactly one of minAvailable and maxUnavailable, got %v and %v", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}
	if floor-keep < 1 {
		tb.Errorf("with %d replicas the PodDisruptionBudget keeps %d: no eviction is possible, so node drains hang", floor, keep)
	}
	if keep < minAvailable {
		tb.Errorf("with %d replicas the PodDisruptionBudget keeps only %d, want at least %d", floor, keep, minAvailable)
	}
}

// scaled returns an int-or-percent PodDisruptionBudget value for total
// pods; Kubernetes rounds percentages up.
func scaled(tb testing.TB, v any, total int) int {
	tb.Helper()
	switch v := v.(type) {
	case int:
		return v
	case string:
		if p, ok := strings.CutSuffix(v, "%"); ok {
			if n, err := strconv.Atoi(p); err == nil {
				return int(math.Ceil(float64(n) * float64(total) / 100))
			}
		}
	}
	tb.Fatalf("%v is neither a number nor a percentage", v)
	return 0
}

// hpa is the part of a HorizontalPodAutoscaler the tests read.
type hpa struct {
	Spec struct {
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int `yaml:"minReplicas"`
		MaxReplicas int `yaml:"maxReplicas"`
		Metrics     []struct {
			Type     string `yaml:"type"`
			Resource *struct {
				Name string `yaml:"name"`
			} `yaml:"resource"`
			Pods *struct {
				Metric struct {
					Name string `yaml:"name"`
				} `yaml:"metric"`
				Target struct {
					Type         string `yaml:"type"`
					AverageValue string `yaml:"averageValue"`
				} `yaml:"target"`
			} `yaml:"pods"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

// checkHPA checks that the HPA scales the Deployment on CPU from minReplicas
// replicas up.
func checkHPA(tb testing.TB, objs objects, minReplicas int) hpa {
	tb.Helper()
	var h hpa
	objs.get(tb, "HorizontalPodAutoscaler", appName).decode(tb, &h)
	if ref := h.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != appName {
		tb.Errorf("the HPA scales %s %s, want Deployment %s", ref.Kind, ref.Name, appName)
	}
	if h.Spec.MinReplicas != minReplicas || h.Spec.MaxReplicas <= minReplicas {
		tb.Errorf("HPA replicas %d-%d, want from %d up", h.Spec.MinReplicas, h.Spec.MaxReplicas, minReplicas)
	}
	cpu := false
	for _, m := range h.Spec.Metrics {
		cpu = cpu || (m.Type == "Resource" && m.Resource != nil && m.Resource.Name == "cpu")
	}
	if !cpu {
		tb.Error("the HPA does not scale on CPU")
	}
	return h
}

// checkNetworkPolicy checks that the public port is open to all and the
// admin port (metrics) only to Prometheus pods in the monitoring namespace.
func checkNetworkPolicy(tb testing.TB, objs objects, c container) {
	tb.Helper()
	var np struct {
		Spec struct {
			PodSelector labelSelector `yaml:"podSelector"`
			Ingress     []struct {
				Ports []struct {
					Port any `yaml:"port"`
				} `yaml:"ports"`
				From []struct {
					NamespaceSelector *labelSelector `yaml:"namespaceSelector"`
					PodSelector       *labelSelector `yaml:"podSelector"`
					IPBlock           any            `yaml:"ipBlock"`
				} `yaml:"from"`
			} `yaml:"ingress"`
		} `yaml:"spec"`
	}
	objs.get(tb, "NetworkPolicy", appName).decode(tb, &np)
	var d deployment
	objs.get(tb, "Deployment", appName).decode(tb, &d)
	if !selects(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Metadata.Labels) {
		tb.Errorf("NetworkPolicy podSelector %v does not select the pods", np.Spec.PodSelector.MatchLabels)
	}
	prometheusNS := map[string]string{"kubernetes.io/metadata.name": "monitoring"}
	prometheusPods := map[string]string{"app.kubernetes.io/name": "prometheus"}
	open := map[int]bool{} // ports reachable from anywhere
	fromPrometheus := map[int]bool{}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			port := probePort(tb, c, p.Port)
			if len(rule.From) == 0 {
				open[port] = true
			}
			for _, peer := range rule.From {
				if peer.NamespaceSelector != nil && peer.PodSelector != nil && peer.IPBlock == nil &&
					maps.Equal(peer.NamespaceSelector.MatchLabels, prometheusNS) &&
					maps.Equal(peer.PodSelector.MatchLabels, prometheusPods) {
					fromPrometheus[port] = true
				} else {
					tb.Errorf("port %v: ingress from a peer other than Prometheus pods in namespace monitoring (both selectors in one peer): namespaceSelector %v, podSelector %v, ipBlock %v",
						p.Port, peer.NamespaceSelector, peer.PodSelector, peer.IPBlock)
				}
			}
		}
	}
	if http := c.port(tb, portHTTP); !open[http] {
		tb.Errorf("the public port %d is not open to all", http)
	}
	admin := c.port(tb, portMetrics)
	if open[admin] || !fromPrometheus[admin] {
		tb.Errorf("the metrics port %d: open to all %v, from Prometheus %v; want only from Prometheus", admin, open[admin], fromPrometheus[admin])
	}
}
