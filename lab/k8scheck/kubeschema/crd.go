package kubeschema

import (
	"fmt"
	"io"

	"github.com/ginstarter/ginstarter/lab/k8scheck/manifest"
)

// CRDs returns a schema for each served version of each
// CustomResourceDefinition in the YAML stream r; other kinds in r are
// ignored. A custom resource's metadata is checked against the ObjectMeta
// of defs, which its CRD leaves open.
func (defs Definitions) CRDs(r io.Reader, source string) (Set, error) {
	objects, err := manifest.Decode(r, source)
	if err != nil {
		return nil, err
	}
	set := Set{}
	for _, obj := range objects {
		if obj.Kind() != "CustomResourceDefinition" {
			continue
		}
		if err := defs.addCRD(set, obj.Object, source); err != nil {
			return nil, fmt.Errorf("%s: CustomResourceDefinition %s: %w", source, obj.Name(), err)
		}
	}
	return set, nil
}

// crd is the part of a CustomResourceDefinition (apiextensions.k8s.io/v1)
// that the schemas come from.
type crd struct {
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Served bool   `json:"served"`
			Schema struct {
				OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

func (defs Definitions) addCRD(set Set, obj map[string]any, source string) error {
	var def crd
	if err := manifest.Convert(obj, &def); err != nil {
		return err
	}
	for _, v := range def.Spec.Versions {
		if !v.Served {
			continue
		}
		if v.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("version %s has no openAPIV3Schema", v.Name)
		}
		c := &converter{defs: defs, refs: map[string]bool{}}
		root := c.schema(v.Schema.OpenAPIV3Schema, false)
		defs.crdMetadata(c, root)
		file := FileName(def.Spec.Names.Kind, def.Spec.Group+"/"+v.Name)
		if err := set.add(file, source, standalone(c, root)); err != nil {
			return err
		}
	}
	return nil
}

// crdMetadata checks metadata against ObjectMeta, keeping any constraint
// that the CRD itself sets (on the name, say).
func (defs Definitions) crdMetadata(c *converter, root map[string]any) {
	props, _ := root["properties"].(map[string]any)
	meta, _ := props["metadata"].(map[string]any)
	if meta == nil {
		return
	}
	if _, ok := defs[objectMeta]; !ok {
		return
	}
	ref := c.ref(definitionsPrefix+objectMeta, false)
	if _, constrained := meta["properties"]; !constrained {
		props["metadata"] = ref
		return
	}
	// The CRD names only the fields it constrains: the others stay allowed.
	delete(meta, "additionalProperties")
	props["metadata"] = map[string]any{"allOf": []any{ref, meta}}
}
