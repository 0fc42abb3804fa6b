package manifest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ginstarter/ginstarter/lab/k8scheck/manifest"
)

const stream = `# kubectl kustomize output, with the oddities a stream may hold
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: shop}}
  - {apiVersion: v1, kind: Secret, metadata: {name: b, namespace: billing}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
---
{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"}}
`

func TestDecode(t *testing.T) {
	objects, err := manifest.Decode(strings.NewReader(stream), "stream.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objects {
		got = append(got, o.APIVersion()+" "+o.Kind()+" "+o.Namespace()+"/"+o.Name())
	}
	want := []string{
		"v1 Namespace /shop",
		"v1 ConfigMap shop/a",
		"v1 Secret billing/b",
		"apps/v1 Deployment shop/web",
		"rbac.authorization.k8s.io/v1 ClusterRole /reader",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Decode:\n got %q\nwant %q", got, want)
	}
	if ns := manifest.Namespaces(objects); !slices.Equal(ns, []string{"billing", "shop"}) {
		t.Errorf("Namespaces = %q, want [billing shop]", ns)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"bad indentation", "apiVersion: v1\nkind: ConfigMap\n metadata: {}\n", "stream.yaml: document 1"},
		{"second document broken", "kind: A\n---\nkind: [\n", "stream.yaml: document 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tt.doc), "stream.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode error = %v, want one that names %q", err, tt.want)
			}
		})
	}
}
