// Package manifest reads Kubernetes objects from YAML or JSON streams, such
// as the output of `kubectl kustomize`, and answers questions about them.
package manifest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one Kubernetes object as decoded from YAML or JSON.
type Object struct {
	Object map[string]any
}

// Kind returns the object's kind.
func (o Object) Kind() string { return o.str("kind") }

// APIVersion returns the object's apiVersion.
func (o Object) APIVersion() string { return o.str("apiVersion") }

// Name returns metadata.name.
func (o Object) Name() string { return o.meta("name") }

// Namespace returns metadata.namespace, empty when it is not set.
func (o Object) Namespace() string { return o.meta("namespace") }

func (o Object) str(key string) string {
	s, _ := o.Object[key].(string)
	return s
}

func (o Object) meta(key string) string {
	m, _ := o.Object["metadata"].(map[string]any)
	s, _ := m[key].(string)
	return s
}

// Decode reads every object in the YAML (or JSON) documents of r; source
// names r in errors. Empty documents are skipped and the items of a List are
// returned in its place.
func Decode(r io.Reader, source string) ([]Object, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objects []Object
	for i := 1; ; i++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if len(obj) == 0 {
			continue
		}
		objects = append(objects, expandList(Object{obj})...)
	}
}

// expandList returns the items of a List (v1 List or any *List kind), or o.
func expandList(o Object) []Object {
	items, ok := o.Object["items"].([]any)
	if !ok || !strings.HasSuffix(o.Kind(), "List") {
		return []Object{o}
	}
	var out []Object
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, Object{m})
		}
	}
	return out
}

// Convert copies the JSON-shaped value obj into the struct that v points to.
func Convert(obj any, v any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Namespaces returns, sorted and once each, the namespaces that objects are
// placed in: those that must exist before they can be applied.
func Namespaces(objects []Object) []string {
	var out []string
	for _, o := range objects {
		if ns := o.Namespace(); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}
