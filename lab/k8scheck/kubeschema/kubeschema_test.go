package kubeschema_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/ginstarter/ginstarter/lab/k8scheck/kubeschema"
)

func TestFileName(t *testing.T) {
	tests := []struct{ kind, apiVersion, want string }{
		{"Deployment", "apps/v1", "deployment-apps-v1.json"},
		{"Service", "v1", "service-v1.json"},
		{"HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscaler-autoscaling-v2.json"},
		{"NetworkPolicy", "networking.k8s.io/v1", "networkpolicy-networking-v1.json"},
		{"ServiceMonitor", "monitoring.coreos.com/v1", "servicemonitor-monitoring-v1.json"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := kubeschema.FileName(tt.kind, tt.apiVersion); got != tt.want {
				t.Errorf("FileName(%q, %q) = %q, want %q", tt.kind, tt.apiVersion, got, tt.want)
			}
		})
	}
}

// swagger reads the definitions of the swagger.json in the k8s.io/kubernetes
// module that go.mod requires, once per test binary.
var swagger = sync.OnceValues(func() (kubeschema.Definitions, error) {
	out, err := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes").Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download k8s.io/kubernetes: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(mod.Dir, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return kubeschema.ReadSwagger(f)
})

func definitions(tb testing.TB) kubeschema.Definitions {
	tb.Helper()
	defs, err := swagger()
	if err != nil {
		tb.Fatalf("reading the Kubernetes OpenAPI document: %v", err)
	}
	return defs
}

func kinds(tb testing.TB) kubeschema.Set {
	tb.Helper()
	set, err := definitions(tb).Kinds()
	if err != nil {
		tb.Fatalf("generating schemas: %v", err)
	}
	return set
}

// compile compiles schema the way kubeconform does (draft 4 unless the
// schema names another).
func compile(tb testing.TB, name string, schema map[string]any) *jsonschema.Schema {
	tb.Helper()
	b, err := json.Marshal(schema)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	url := "file:///schemas/" + name
	if err := c.AddResource(url, doc); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return s
}

// decode reads one YAML document into the JSON-shaped value a validator takes.
func decode(tb testing.TB, doc string) any {
	tb.Helper()
	b, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// kubeconform skips a schema that does not compile as if it were missing,
// so every generated schema must compile.
func TestKindsCompile(t *testing.T) {
	set := kinds(t)
	for _, want := range []string{
		"deployment-apps-v1.json", "service-v1.json", "serviceaccount-v1.json", "configmap-v1.json",
		"poddisruptionbudget-policy-v1.json", "networkpolicy-networking-v1.json",
		"horizontalpodautoscaler-autoscaling-v2.json", "namespace-v1.json",
	} {
		if _, ok := set[want]; !ok {
			t.Errorf("no schema %s", want)
		}
	}
	for name, schema := range set {
		compile(t, name, schema)
	}
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {app: app}
spec:
  selector: {matchLabels: {app: app}}
  strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}}
  template:
    metadata:
      labels: {app: app}
      creationTimestamp: null
    spec:
      containers:
        - name: app
          image: app:dev
          ports: [{containerPort: 8080}]
          resources: {limits: {cpu: 1, memory: 128Mi}, requests: {cpu: "100m"}}
`

func TestDeploymentSchema(t *testing.T) {
	schema := compile(t, "deployment-apps-v1.json", kinds(t)["deployment-apps-v1.json"])
	tests := []struct {
		name    string
		replace [2]string // applied to deployment
		wantErr string    // empty: valid
	}{
		{name: "valid"},
		{"unknown container field", [2]string{"image: app:dev", "image: app:dev\n          bogus: 1"}, "'bogus' not allowed"},
		{"unknown top-level field", [2]string{"spec:", "sepc: {}\nspec:"}, "'sepc' not allowed"},
		{"unknown metadata field", [2]string{"name: app", "name: app\n  nmae: app"}, "'nmae' not allowed"},
		{"string for integer", [2]string{"containerPort: 8080", "containerPort: http"}, "want integer"},
		{"replicas as string", [2]string{"spec:", "spec:\n  replicas: \"2\""}, "want null or integer"},
		{"int-or-string as bool", [2]string{"maxSurge: 25%", "maxSurge: true"}, "oneOf"},
		{"required field missing", [2]string{"- name: app", "- imagePullPolicy: Always"}, "missing property 'name'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(deployment, tt.replace[0], tt.replace[1], 1)
			err := schema.Validate(decode(t, doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("valid Deployment rejected: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("invalid Deployment accepted:\n%s", doc)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: false
      storage: false
      schema: {openAPIV3Schema: {type: object}}
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              required: [port]
              properties:
                port:
                  x-kubernetes-int-or-string: true
                  anyOf: [{type: integer}, {type: string}]
                size: {type: integer, minimum: 1}
                note: {type: string, nullable: true}
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    known: {type: string}
`

func TestCRDs(t *testing.T) {
	defs := definitions(t)
	set, err := defs.CRDs(strings.NewReader("---\n"+crd+"---\n# only a comment\n"), "widgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 {
		t.Fatalf("got schemas %v, want only widget-example-v1.json (v1alpha1 is not served)", keys(set))
	}
	schema := compile(t, "widget-example-v1.json", set["widget-example-v1.json"])
	const valid = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, labels: {a: b}}\nspec:\n  port: 80\n"
	tests := []struct {
		name, doc, wantErr string
	}{
		{"valid", valid, ""},
		{"port as string", strings.Replace(valid, "80", "http", 1), ""},
		{"nullable field", valid + "  note: null\n", ""},
		{"unknown fields kept where the CRD preserves them", valid + "  extra: {anything: 1}\n", ""},
		{"preserved object still checks its known fields", valid + "  extra: {known: 1}\n", "got number"},
		{"unknown spec field", valid + "  colour: red\n", "'colour' not allowed"},
		{"unknown metadata field", strings.Replace(valid, "name: w", "name: w, nmae: w", 1), "'nmae' not allowed"},
		{"minimum", valid + "  size: 0\n", "minimum"},
		{"required", strings.Replace(valid, "port: 80", "size: 1", 1), "missing property 'port'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schema.Validate(decode(t, tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("valid Widget rejected: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("invalid Widget accepted:\n%s", tt.doc)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func keys(set kubeschema.Set) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	return out
}
