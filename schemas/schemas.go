// Package schemas holds the Go types of every tool's input and output and
// turns them into JSON Schemas (invopop/jsonschema), the single source of
// what agents see and what arguments are accepted.
package schemas

import (
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"
)

// For returns the input JSON Schema of v's type: inlined (no $refs), closed
// (additionalProperties false: a misspelt argument is an error, not
// silently ignored), without $schema/$id noise, compact.
func For(v any) json.RawMessage { return generate(v, false) }

// ForOutput returns the output JSON Schema of v's type, in the shape
// tools/list carries it: open (no additionalProperties), without required
// lists, and two levels deep: the result's properties and the properties
// of its objects and list items (issues[].short_id); anything deeper is
// typed (object, array) without its properties. Outputs are produced by
// sentry-mcp, not by the agent: what the schema leaves out does not change
// what a client can rely on in the fields it describes, and every byte of
// tools/list is paid by every conversation. The Go types in this package
// are the full description.
func ForOutput(v any) json.RawMessage { return generate(v, true) }

// outputDepth is how many levels of properties an output schema keeps.
const outputDepth = 2

func generate(v any, open bool) json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true, AllowAdditionalProperties: open}
	s := r.Reflect(v)
	s.Version = ""
	if open {
		trimOutput(s, 0)
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic("schemas: " + reflect.TypeOf(v).String() + ": " + err.Error()) // a bug in a type, caught by tests
	}
	return b
}

// Advertised is the schema agents are shown for an input schema from For:
// the same properties, types, enums, defaults, required list and numeric
// and item-count bounds, without the string length bounds, the character
// patterns and additionalProperties: false. Those change no choice a model
// makes (it sees every property there is), cost bytes in every
// conversation, and are still enforced: arguments are validated against
// the full schema, and a violation (a misspelt argument included) names
// the argument and the rule.
func Advertised(full json.RawMessage) json.RawMessage {
	var s map[string]any
	if err := json.Unmarshal(full, &s); err != nil {
		panic("schemas: advertised: " + err.Error())
	}
	stripStringBounds(s)
	delete(s, "additionalProperties")
	b, err := json.Marshal(s)
	if err != nil {
		panic("schemas: advertised: " + err.Error())
	}
	return b
}

func stripStringBounds(s map[string]any) {
	delete(s, "maxLength")
	delete(s, "minLength")
	delete(s, "pattern")
	for _, k := range []string{"properties", "$defs"} {
		if props, ok := s[k].(map[string]any); ok {
			for _, p := range props {
				if m, ok := p.(map[string]any); ok {
					stripStringBounds(m)
				}
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if m, ok := s[k].(map[string]any); ok {
			stripStringBounds(m)
		}
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if list, ok := s[k].([]any); ok {
			for _, p := range list {
				if m, ok := p.(map[string]any); ok {
					stripStringBounds(m)
				}
			}
		}
	}
}

// trimOutput drops s's required lists and the properties below
// outputDepth (see ForOutput).
func trimOutput(s *jsonschema.Schema, depth int) {
	if s == nil {
		return
	}
	s.Required = nil
	if s.Properties != nil {
		if depth >= outputDepth {
			s.Properties = nil
		} else {
			for p := s.Properties.Oldest(); p != nil; p = p.Next() {
				trimOutput(p.Value, depth+1)
			}
		}
	}
	trimOutput(s.Items, depth)
	if s.AdditionalProperties != nil && s.AdditionalProperties != jsonschema.TrueSchema && s.AdditionalProperties != jsonschema.FalseSchema {
		trimOutput(s.AdditionalProperties, depth)
	}
	for _, sub := range s.AnyOf {
		trimOutput(sub, depth)
	}
	for _, sub := range s.OneOf {
		trimOutput(sub, depth)
	}
}
