// Package kubeschema writes the JSON schemas that kubeconform reads, from the
// OpenAPI document of the Kubernetes API (api/openapi-spec/swagger.json in the
// k8s.io/kubernetes module) and from CustomResourceDefinitions, with no network.
//
// Each schema stands alone: the definitions it refers to travel with it under
// "definitions". Each object that lists its properties rejects any other
// (additionalProperties: false), as openapi2jsonschema --strict does, except
// where Kubernetes itself keeps unknown fields
// (x-kubernetes-preserve-unknown-fields). Optional fields accept null, as the
// API server does.
package kubeschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Draft is the JSON schema version of every generated schema; kubeconform
// also assumes it for a schema that names none.
const Draft = "http://json-schema.org/draft-04/schema#"

const definitionsPrefix = "#/definitions/"

// Set holds generated schemas by file name (see FileName).
type Set map[string]map[string]any

// Definitions are the named schemas of an OpenAPI v2 document.
type Definitions map[string]map[string]any

// FileName returns the file name under which kubeconform, given the schema
// location template {{ .ResourceKind }}{{ .KindSuffix }}.json, looks for the
// schema of kind in apiVersion: "deployment-apps-v1.json" for apps/v1
// Deployment, "service-v1.json" for v1 Service and
// "servicemonitor-monitoring-v1.json" for monitoring.coreos.com/v1
// ServiceMonitor.
func FileName(kind, apiVersion string) string {
	group, version, found := strings.Cut(apiVersion, "/")
	suffix := "-" + strings.Split(group, ".")[0]
	if found {
		suffix += "-" + version
	}
	return strings.ToLower(kind + suffix + ".json")
}

// ReadSwagger reads the definitions of an OpenAPI v2 document.
func ReadSwagger(r io.Reader) (Definitions, error) {
	var doc struct {
		Definitions Definitions `json:"definitions"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decoding OpenAPI document: %w", err)
	}
	if len(doc.Definitions) == 0 {
		return nil, errors.New("OpenAPI document has no definitions")
	}
	return doc.Definitions, nil
}

// Kinds returns a schema for every kind in defs, that is for every definition
// marked with x-kubernetes-group-version-kind.
func (defs Definitions) Kinds() (Set, error) {
	set := Set{}
	for name, def := range defs {
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		if len(gvks) == 0 {
			continue
		}
		c := &converter{defs: defs, refs: map[string]bool{}}
		schema := standalone(c, c.schema(def, false))
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if err := set.add(FileName(kind, apiVersion(group, version)), name, schema); err != nil {
				return nil, err
			}
		}
	}
	return set, nil
}

// add stores schema under file, refusing to replace a different schema:
// kubeconform's names keep only the first part of a group, so two groups that
// share it would collide.
func (s Set) add(file, source string, schema map[string]any) error {
	if prev, ok := s[file]; ok {
		a, _ := json.Marshal(prev)
		b, _ := json.Marshal(schema)
		if !bytes.Equal(a, b) {
			return fmt.Errorf("%s: two different schemas (the second from %s)", file, source)
		}
	}
	s[file] = schema
	return nil
}

// apiVersion joins group and version as a manifest's apiVersion field does.
func apiVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

// standalone returns root with the draft and the definitions it refers to.
func standalone(c *converter, root map[string]any) map[string]any {
	root["$schema"] = Draft
	if defs := c.closure(); len(defs) > 0 {
		root["definitions"] = defs
	}
	return root
}

// definitionName returns the definition name that ref points to.
func definitionName(ref string) string {
	return strings.TrimPrefix(ref, definitionsPrefix)
}

// Write writes every schema of s into dir as indented JSON, one file each.
func (s Set) Write(dir string) error {
	// Public Kubernetes schemas in a cache directory: nothing in them is
	// kept from other users, who may run kubeconform on them.
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // public schemas, readable by all
		return err
	}
	for file, schema := range s {
		b, err := json.MarshalIndent(schema, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding %s: %w", file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), append(b, '\n'), 0o644); err != nil { //nolint:gosec // public schemas, readable by all
			return err
		}
	}
	return nil
}
