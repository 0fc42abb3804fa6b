package kubeschema

import "maps"

// Keywords copied unchanged from an OpenAPI schema into a JSON schema (draft 4).
// Everything else (descriptions, defaults, x-kubernetes-* markers, examples) is
// dropped: it does not validate and would only make each file larger.
var plainKeywords = []string{
	"type", "format", "enum", "required", "pattern",
	"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
	"minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
	"minProperties", "maxProperties",
}

// Keywords whose value is a list of schemas.
var schemaListKeywords = []string{"allOf", "anyOf", "oneOf"}

// Definitions that are written inline where they are used, instead of by
// reference, so that an optional field of that type may be null: a $ref
// takes no sibling keywords in draft 4.
const (
	quantity    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	objectMeta  = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
)

// converter turns OpenAPI schemas into strict JSON schemas. It records every
// definition that the converted schemas refer to, so that the caller can
// ship them alongside.
type converter struct {
	defs Definitions
	refs map[string]bool
}

// schema converts one OpenAPI schema. optional is true for a property that
// its object does not require: Kubernetes accepts null for those.
func (c *converter) schema(in map[string]any, optional bool) map[string]any {
	if ref, ok := in["$ref"].(string); ok {
		return c.ref(ref, optional)
	}
	out := map[string]any{}
	for _, k := range plainKeywords {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	c.intOrString(in, out)
	c.children(in, out)
	if props, ok := out["properties"].(map[string]any); ok {
		c.embeddedResource(in, props)
		if _, set := out["additionalProperties"]; !set && in["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
	}
	if optional || in["nullable"] == true {
		allowNull(out)
	}
	return out
}

// ref converts a $ref. Object definitions stay references (and are recorded);
// scalar ones are written inline so that they can be made nullable.
func (c *converter) ref(ref string, optional bool) map[string]any {
	name := definitionName(ref)
	def, ok := c.defs[name]
	switch {
	case name == quantity:
		// The API server accepts a number wherever it takes a quantity ("cpu: 1").
		out := map[string]any{"oneOf": []any{
			map[string]any{"type": "string"}, map[string]any{"type": "number"},
		}}
		if optional {
			allowNull(out)
		}
		return out
	case ok && !isObjectWithProperties(def):
		return c.schema(def, optional)
	}
	c.refs[name] = true
	return map[string]any{"$ref": definitionsPrefix + name}
}

// intOrString replaces the OpenAPI markers for "an integer or a string" with
// the JSON schema that says so.
func (c *converter) intOrString(in, out map[string]any) {
	if in["format"] != "int-or-string" && in["x-kubernetes-int-or-string"] != true {
		return
	}
	delete(out, "format")
	delete(out, "type")
	if _, has := in["anyOf"]; has {
		return
	}
	if _, has := in["oneOf"]; has {
		return
	}
	out["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
}

// children converts the subschemas of in into out.
func (c *converter) children(in, out map[string]any) {
	if props, ok := in["properties"].(map[string]any); ok {
		required := stringSet(in["required"])
		converted := make(map[string]any, len(props))
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok {
				converted[name] = c.schema(ps, !required[name])
			}
		}
		out["properties"] = converted
	}
	if items, ok := in["items"].(map[string]any); ok {
		out["items"] = c.schema(items, false)
	}
	switch ap := in["additionalProperties"].(type) {
	case map[string]any:
		out["additionalProperties"] = c.schema(ap, false)
	case bool:
		out["additionalProperties"] = ap
	}
	if not, ok := in["not"].(map[string]any); ok {
		out["not"] = c.schema(not, false)
	}
	for _, k := range schemaListKeywords {
		list, ok := in[k].([]any)
		if !ok {
			continue
		}
		converted := make([]any, 0, len(list))
		for _, s := range list {
			if sm, ok := s.(map[string]any); ok {
				converted = append(converted, c.schema(sm, false))
			}
		}
		out[k] = converted
	}
}

// embeddedResource adds the fields that Kubernetes implies for an object
// marked x-kubernetes-embedded-resource, when its schema does not list them.
func (c *converter) embeddedResource(in, props map[string]any) {
	if in["x-kubernetes-embedded-resource"] != true {
		return
	}
	for _, name := range []string{"apiVersion", "kind"} {
		if _, ok := props[name]; !ok {
			props[name] = map[string]any{"type": []any{"string", "null"}}
		}
	}
	if _, ok := props["metadata"]; !ok {
		props["metadata"] = c.ref(definitionsPrefix+objectMeta, true)
	}
}

// allowNull lets a schema also accept null.
func allowNull(s map[string]any) {
	switch t := s["type"].(type) {
	case string:
		if t != "null" {
			s["type"] = []any{t, "null"}
		}
	case []any:
		for _, v := range t {
			if v == "null" {
				return
			}
		}
		s["type"] = append(t, "null")
	default:
		if oneOf, ok := s["oneOf"].([]any); ok {
			s["oneOf"] = append(oneOf, map[string]any{"type": "null"})
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		s["enum"] = append(enum, nil)
	}
}

// isObjectWithProperties reports whether def describes an object by its
// fields, as opposed to a scalar or a free-form object.
func isObjectWithProperties(def map[string]any) bool {
	_, ok := def["properties"]
	return ok
}

// stringSet returns the strings of a JSON array as a set.
func stringSet(v any) map[string]bool {
	list, _ := v.([]any)
	set := make(map[string]bool, len(list))
	for _, s := range list {
		if str, ok := s.(string); ok {
			set[str] = true
		}
	}
	return set
}

// closure converts every definition that the converter has recorded, and
// those that they refer to in turn, and returns them by name.
func (c *converter) closure() map[string]any {
	out := map[string]any{}
	for len(c.refs) > 0 {
		pending := maps.Clone(c.refs)
		clear(c.refs)
		for name := range pending {
			if _, done := out[name]; done {
				continue
			}
			def, ok := c.defs[name]
			if !ok {
				// Compiling the schema will report the dangling reference.
				continue
			}
			out[name] = c.schema(def, false)
		}
	}
	return out
}
