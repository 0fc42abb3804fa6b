package clustercheck

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Pod is the part of a pod the checks read.
type Pod struct {
	Metadata struct {
		Name              string
		Labels            map[string]string
		DeletionTimestamp *time.Time
	}
	Spec struct {
		Containers []struct {
			Name  string
			Ports []struct {
				Name          string
				ContainerPort int
			}
		}
	}
	Status struct {
		PodIP      string
		Conditions []struct {
			Type, Status string
		}
		ContainerStatuses []struct {
			Name, ContainerID, Image string
			Ready                    bool
		}
	}
}

// Ready reports the pod's Ready condition.
func (p Pod) Ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

// Service is the part of a Service the checks read.
type Service struct {
	Metadata struct {
		Name, Namespace string
		Labels          map[string]string
	}
	Spec struct {
		ClusterIP string
		Selector  map[string]string
		Ports     []struct {
			Name       string
			Port       int
			TargetPort any // a number or a container port's name
		}
	}
}

// ServiceMonitor is the part of a Prometheus Operator ServiceMonitor the
// checks read.
type ServiceMonitor struct {
	Metadata struct {
		Name, Namespace string
	}
	Spec struct {
		JobLabel string
		Selector struct {
			MatchLabels map[string]string
		}
		NamespaceSelector struct {
			Any        bool
			MatchNames []string
		}
		Endpoints []struct {
			Port, Path string
		}
	}
}

// CheckServiceMonitor reports why the Prometheus Operator would not scrape
// the metrics port of every pod with sm: its selector must match the
// Service, in a namespace it watches; each endpoint's port must be a port
// name of the Service, whose target port every pod behind it declares; the
// Service must select every pod; and the job label, the Service's name
// unless jobLabel says otherwise, must be job, which the rules select on.
func CheckServiceMonitor(sm ServiceMonitor, svc Service, pods []Pod, job string) error {
	var problems []string
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			problems = append(problems, fmt.Sprintf("selector %s=%s does not match the Service's labels %v", k, v, svc.Metadata.Labels))
		}
	}
	ns := sm.Spec.NamespaceSelector
	switch {
	case ns.Any:
	case len(ns.MatchNames) > 0 && !slices.Contains(ns.MatchNames, svc.Metadata.Namespace):
		problems = append(problems, fmt.Sprintf("namespaceSelector %v leaves out the Service's namespace %s", ns.MatchNames, svc.Metadata.Namespace))
	case len(ns.MatchNames) == 0 && sm.Metadata.Namespace != svc.Metadata.Namespace:
		problems = append(problems, fmt.Sprintf("the ServiceMonitor (namespace %s) watches only its own namespace, not %s", sm.Metadata.Namespace, svc.Metadata.Namespace))
	}
	if len(sm.Spec.Endpoints) == 0 {
		problems = append(problems, "no endpoints")
	}
	for _, ep := range sm.Spec.Endpoints {
		var target any
		for _, p := range svc.Spec.Ports {
			if p.Name == ep.Port {
				target = p.TargetPort
			}
		}
		if target == nil {
			problems = append(problems, fmt.Sprintf("endpoint port %q is not a port name of the Service", ep.Port))
			continue
		}
		for _, pod := range pods {
			if !podHasPort(pod, target) {
				problems = append(problems, fmt.Sprintf("pod %s declares no container port %v (the Service port %q's target)", pod.Metadata.Name, target, ep.Port))
			}
		}
	}
	if len(svc.Spec.Selector) == 0 {
		problems = append(problems, "the Service selects no pods")
	}
	for _, pod := range pods {
		for k, v := range svc.Spec.Selector {
			if pod.Metadata.Labels[k] != v {
				problems = append(problems, fmt.Sprintf("the Service's selector %s=%s does not match pod %s", k, v, pod.Metadata.Name))
			}
		}
	}
	gotJob := svc.Metadata.Name
	if sm.Spec.JobLabel != "" {
		gotJob = svc.Metadata.Labels[sm.Spec.JobLabel]
	}
	if gotJob != job {
		problems = append(problems, fmt.Sprintf("targets would get job=%q, the rules select job=%q", gotJob, job))
	}
	if len(problems) > 0 {
		return fmt.Errorf("ServiceMonitor %s: %s", sm.Metadata.Name, strings.Join(problems, "; "))
	}
	return nil
}

func podHasPort(pod Pod, target any) bool {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			switch t := target.(type) {
			case string:
				if p.Name == t {
					return true
				}
			case float64:
				if p.ContainerPort == int(t) {
					return true
				}
			}
		}
	}
	return false
}
