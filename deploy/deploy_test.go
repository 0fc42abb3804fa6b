package deploy

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ginstarter/ginstarter/config"
)

// appName is the name of every object of the service, its container and
// its app.kubernetes.io/name label.
const appName = "ginstarter"

// Container port names that the Service, the probes, the NetworkPolicy and
// the ServiceMonitor refer to.
const (
	portHTTP    = "http"
	portMetrics = "metrics"
)

// overlays are the environments under overlays/ and what each must render.
var overlays = []struct {
	name      string
	namespace string
	// replicas is the Deployment's spec.replicas; 0 means unset, the count
	// belonging to the HorizontalPodAutoscaler.
	replicas int
	// hpaMinReplicas is the HPA floor; 0 means no HPA.
	hpaMinReplicas int
	// minAvailableAtFloor is the fewest pods the PodDisruptionBudget must
	// keep at the lowest replica count.
	minAvailableAtFloor int
	// env holds configuration values the overlay must set.
	env map[string]string
}{
	{name: "dev", namespace: "ginstarter-dev", replicas: 1, minAvailableAtFloor: 0,
		env: map[string]string{"LOG_LEVEL": "debug", "DEMO_ENDPOINTS": "true",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ""}},
	{name: "prod", namespace: "ginstarter", hpaMinReplicas: 3, minAvailableAtFloor: 2,
		env: map[string]string{"LOG_LEVEL": "info", "DEMO_ENDPOINTS": "",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ""}},
}

// object is one rendered Kubernetes object: its identity, and its YAML to
// decode into the few fields a test reads.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	node *yaml.Node
}

// decode fills v (a struct with the fields of interest) from the object.
func (o object) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := o.node.Decode(v); err != nil {
		tb.Fatalf("decoding %s %s: %v", o.Kind, o.Metadata.Name, err)
	}
}

type objects []object

// get returns the object of kind and name, failing the test when there is
// none.
func (objs objects) get(tb testing.TB, kind, name string) object {
	tb.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	tb.Fatalf("no %s named %q in the rendered manifests", kind, name)
	return object{}
}

// ofKind returns every object of kind.
func (objs objects) ofKind(kind string) objects {
	var out objects
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// kubectl returns the path of kubectl, failing the test when it is absent:
// the manifests are only meaningful as kustomize renders them.
func kubectl(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		tb.Fatal("kubectl is not on PATH: it is needed to render the overlays (kubectl kustomize); install kubectl 1.27 or later")
	}
	return path
}

// render runs kubectl kustomize on dir and returns the objects.
func render(tb testing.TB, dir string) objects {
	tb.Helper()
	cmd := exec.Command(kubectl(tb), "kustomize", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.Bytes())
	}
	return parseObjects(tb, out)
}

// parseObjects splits a multi-document YAML stream into objects.
func parseObjects(tb testing.TB, stream []byte) objects {
	tb.Helper()
	var objs objects
	dec := yaml.NewDecoder(bytes.NewReader(stream))
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			tb.Fatalf("parsing rendered manifests: %v", err)
		}
		o := object{node: &node}
		o.decode(tb, &o)
		objs = append(objs, o)
	}
}

// The fields of the workload objects that the tests read.
type (
	deployment struct {
		Spec struct {
			Replicas *int `yaml:"replicas"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec podSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	podSpec struct {
		ServiceAccountName            string          `yaml:"serviceAccountName"`
		AutomountServiceAccountToken  *bool           `yaml:"automountServiceAccountToken"`
		TerminationGracePeriodSeconds *int64          `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               securityContext `yaml:"securityContext"`
		InitContainers                []container     `yaml:"initContainers"`
		Containers                    []container     `yaml:"containers"`
		Volumes                       []struct {
			Name     string    `yaml:"name"`
			EmptyDir *struct{} `yaml:"emptyDir"`
		} `yaml:"volumes"`
	}
	securityContext struct {
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		RunAsGroup               *int64 `yaml:"runAsGroup"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
		SeccompProfile *struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	}
	container struct {
		Name  string `yaml:"name"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		EnvFrom []struct {
			ConfigMapRef *struct {
				Name string `yaml:"name"`
			} `yaml:"configMapRef"`
		} `yaml:"envFrom"`
		Env       []envVar `yaml:"env"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		StartupProbe    *probe          `yaml:"startupProbe"`
		LivenessProbe   *probe          `yaml:"livenessProbe"`
		ReadinessProbe  *probe          `yaml:"readinessProbe"`
		SecurityContext securityContext `yaml:"securityContext"`
		VolumeMounts    []volumeMount   `yaml:"volumeMounts"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	}
	envVar struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			ResourceFieldRef *struct {
				Resource string `yaml:"resource"`
				Divisor  string `yaml:"divisor"`
			} `yaml:"resourceFieldRef"`
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"` // a port name or number
		} `yaml:"httpGet"`
	}
)

// workload returns the service's Deployment and its one container.
func workload(tb testing.TB, objs objects) (deployment, container) {
	tb.Helper()
	var d deployment
	objs.get(tb, "Deployment", appName).decode(tb, &d)
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != appName {
		tb.Fatalf("want one container named %q, got %d: %+v", appName, len(cs), cs)
	}
	return d, cs[0]
}

// port returns the number of the container port called name.
func (c container) port(tb testing.TB, name string) int {
	tb.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	tb.Fatalf("container %s has no port named %q", c.Name, name)
	return 0
}

// goRuntimeVars are the variables the container may set for the Go runtime
// rather than for the service's configuration.
var goRuntimeVars = []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG"}

// Stand-ins for what the Downward API gives a pod (fieldRef), so that a
// value built from them can be parsed and checked.
const (
	standInPodName  = appName + "-7d9f8c6b5-x2k4q"
	standInNodeName = "node-a"
)

// downwardAPIStandIn returns the stand-in value of a fieldRef of a pod of
// the Deployment in namespace ns.
func downwardAPIStandIn(fieldPath, ns string) string {
	switch fieldPath {
	case "metadata.name":
		return standInPodName
	case "metadata.namespace":
		return ns
	case "spec.nodeName":
		return standInNodeName
	}
	return "stand-in-for-" + fieldPath
}

// envReference matches $(NAME), a reference that Kubernetes expands in an
// env value, and $$, which it turns into $.
var envReference = regexp.MustCompile(`\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)`)

// environment returns the variables the container starts with, as
// Kubernetes builds them: the ConfigMaps of envFrom, then env, which wins,
// with $(NAME) references in env values expanded from the variables defined
// before them. It fails the test for a variable the service does not read,
// except one set from the Downward API (fieldRef) only for a later value to
// refer to (its stand-in value comes from downwardAPIStandIn), and for a
// ConfigMap variable that env overrides.
func environment(tb testing.TB, objs objects, c container) map[string]string {
	tb.Helper()
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
	}
	env := map[string]string{}
	fromConfigMap := map[string]string{} // variable -> ConfigMap
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			tb.Fatalf("container %s: envFrom other than configMapRef", c.Name)
		}
		var cm struct {
			Data map[string]string `yaml:"data"`
		}
		objs.get(tb, "ConfigMap", from.ConfigMapRef.Name).decode(tb, &cm)
		for name, value := range cm.Data {
			if !known[name] {
				tb.Errorf("ConfigMap %s sets %s, which is not in config.Vars(): a typo, or a variable the service no longer reads", from.ConfigMapRef.Name, name)
			}
			env[name] = value
			fromConfigMap[name] = from.ConfigMapRef.Name
		}
	}
	var d struct {
		Metadata struct {
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
	}
	objs.get(tb, "Deployment", appName).decode(tb, &d)
	defined := maps.Clone(env) // what a $(NAME) may refer to
	helpers := map[string]bool{}
	referenced := map[string]bool{}
	for _, e := range c.Env {
		if cm, ok := fromConfigMap[e.Name]; ok {
			tb.Errorf("container %s sets %s in env, which overrides the value in ConfigMap %s: set it in one place", c.Name, e.Name, cm)
		}
		switch {
		case e.ValueFrom == nil:
			value := envReference.ReplaceAllStringFunc(e.Value, func(ref string) string {
				if ref == "$$" {
					return "$"
				}
				name := ref[2 : len(ref)-1]
				referenced[name] = true
				v, ok := defined[name]
				if !ok {
					tb.Errorf("container %s: %s refers to %s, which is not defined before it: Kubernetes would leave the text %s in the value", c.Name, e.Name, ref, ref)
					return ref
				}
				return v
			})
			env[e.Name], defined[e.Name] = value, value
		case e.ValueFrom.FieldRef != nil:
			defined[e.Name] = downwardAPIStandIn(e.ValueFrom.FieldRef.FieldPath, d.Metadata.Namespace)
			if !known[e.Name] {
				helpers[e.Name] = true
				continue
			}
			env[e.Name] = defined[e.Name]
		}
		if !known[e.Name] && !slices.Contains(goRuntimeVars, e.Name) {
			tb.Errorf("container %s sets %s, which is neither in config.Vars() nor a Go runtime variable", c.Name, e.Name)
		}
	}
	for name := range helpers {
		if !referenced[name] {
			tb.Errorf("container %s sets %s from the Downward API, but it is not in config.Vars() and no later variable refers to it as $(%s)", c.Name, name, name)
		}
	}
	return env
}

// loadConfig parses env as the service does at start.
func loadConfig(tb testing.TB, env map[string]string) config.Config {
	tb.Helper()
	cfg, err := config.Load(func(name string) string { return env[name] })
	if err != nil {
		tb.Fatalf("the service would refuse to start with the rendered configuration:\n%v", err)
	}
	return cfg
}

// addrPort returns the port of a host:port listener address.
func addrPort(tb testing.TB, addr string) int {
	tb.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatalf("listener address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		tb.Fatalf("listener address %q: %v", addr, err)
	}
	return n
}

func TestOverlays(t *testing.T) {
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			objs := render(t, "overlays/"+o.name)
			d, c := workload(t, objs)
			env := environment(t, objs, c)
			cfg := loadConfig(t, env)

			t.Run("namespace", func(t *testing.T) { checkNamespace(t, objs, o.namespace) })
			t.Run("configuration", func(t *testing.T) {
				for name, want := range o.env {
					if got := env[name]; got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
			})
			t.Run("ports and probes", func(t *testing.T) { checkPortsAndProbes(t, objs, c, cfg) })
			t.Run("grace period", func(t *testing.T) { checkGracePeriod(t, d, cfg) })
			t.Run("security context", func(t *testing.T) { checkSecurity(t, objs, d) })
			t.Run("go runtime limits", func(t *testing.T) { checkRuntimeLimits(t, c) })
			t.Run("replicas and disruptions", func(t *testing.T) {
				checkReplicas(t, objs, d, o.replicas, o.hpaMinReplicas, o.minAvailableAtFloor)
			})
			t.Run("network policy", func(t *testing.T) { checkNetworkPolicy(t, objs, c) })
			t.Run("monitoring", func(t *testing.T) { checkMonitoring(t, objs, c, cfg) })
			t.Run("tracing", func(t *testing.T) { checkTracing(t, objs, cfg) })
		})
	}
}

// checkNamespace checks that every namespaced object is in ns, and that ns
// itself is created with the restricted Pod Security Standard enforced.
func checkNamespace(tb testing.TB, objs objects, ns string) {
	tb.Helper()
	for _, o := range objs {
		if o.Kind == "Namespace" {
			continue
		}
		if o.Metadata.Namespace != ns {
			tb.Errorf("%s %s is in namespace %q, want %q", o.Kind, o.Metadata.Name, o.Metadata.Namespace, ns)
		}
	}
	n := objs.get(tb, "Namespace", ns)
	if got := n.Metadata.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		tb.Errorf("namespace %s enforces Pod Security %q, want restricted", ns, got)
	}
}

// checkGracePeriod checks that Kubernetes waits for a clean shutdown: the
// drain delay, the shutdown timeout and the second the admin listener may
// take after the public one.
func checkGracePeriod(tb testing.TB, d deployment, cfg config.Config) {
	tb.Helper()
	g := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if g == nil {
		tb.Fatal("terminationGracePeriodSeconds is not set (the default, 30 s, would be implicit)")
	}
	need := cfg.ShutdownDrainDelay + cfg.ShutdownTimeout + time.Second
	if grace := time.Duration(*g) * time.Second; grace <= need {
		tb.Errorf("terminationGracePeriodSeconds = %v, want more than SHUTDOWN_DRAIN_DELAY (%v) + SHUTDOWN_TIMEOUT (%v) + 1s = %v: the pod would be killed mid-shutdown",
			grace, cfg.ShutdownDrainDelay, cfg.ShutdownTimeout, need)
	}
}

// checkSecurity checks the Pod Security Standard "restricted" settings on
// every container, taking the pod's securityContext where the container
// does not override it, as Kubernetes does.
func checkSecurity(tb testing.TB, objs objects, d deployment) {
	tb.Helper()
	pod := d.Spec.Template.Spec
	var sa struct {
		AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
	}
	objs.get(tb, "ServiceAccount", pod.ServiceAccountName).decode(tb, &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		tb.Errorf("ServiceAccount %s: automountServiceAccountToken must be false", pod.ServiceAccountName)
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		sc := c.SecurityContext
		if v := orPod(sc.RunAsNonRoot, pod.SecurityContext.RunAsNonRoot); v == nil || !*v {
			tb.Errorf("container %s: runAsNonRoot must be true", c.Name)
		}
		for field, v := range map[string]*int64{
			"runAsUser":  orPod(sc.RunAsUser, pod.SecurityContext.RunAsUser),
			"runAsGroup": orPod(sc.RunAsGroup, pod.SecurityContext.RunAsGroup),
		} {
			if v == nil || *v != 65532 {
				tb.Errorf("container %s: %s must be 65532 (numeric, so that runAsNonRoot can be verified)", c.Name, field)
			}
		}
		if v := sc.ReadOnlyRootFilesystem; v == nil || !*v {
			tb.Errorf("container %s: readOnlyRootFilesystem must be true", c.Name)
		}
		if v := sc.AllowPrivilegeEscalation; v == nil || *v {
			tb.Errorf("container %s: allowPrivilegeEscalation must be false", c.Name)
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			tb.Errorf("container %s: capabilities must drop ALL", c.Name)
		}
		if v := orPod(sc.SeccompProfile, pod.SecurityContext.SeccompProfile); v == nil || v.Type != "RuntimeDefault" {
			tb.Errorf("container %s: seccompProfile must be RuntimeDefault", c.Name)
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m volumeMount) bool { return m.MountPath == "/tmp" }) {
			tb.Errorf("container %s: the root filesystem is read-only, so /tmp needs a volume (emptyDir)", c.Name)
		}
	}
}

// orPod returns the container's setting, or the pod's when the container
// has none.
func orPod[T any](container, pod *T) *T {
	if container != nil {
		return container
	}
	return pod
}
