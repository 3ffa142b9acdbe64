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

// ForOutput returns the output JSON Schema of v's type. Outputs are open
// (no additionalProperties), which keeps tools/list smaller.
func ForOutput(v any) json.RawMessage { return generate(v, true) }

func generate(v any, open bool) json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true, AllowAdditionalProperties: open}
	s := r.Reflect(v)
	s.Version = ""
	if open {
		for p := s.Properties.Oldest(); p != nil; p = p.Next() {
			dropRequired(p.Value)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic("schemas: " + reflect.TypeOf(v).String() + ": " + err.Error()) // a bug in a type, caught by tests
	}
	return b
}

// Advertised is the schema agents are shown for an input schema from For:
// the same properties, types, enums, defaults, required list and numeric
// and item-count bounds, without the string length bounds and character
// patterns. Those change no choice a model makes, cost bytes in every
// conversation, and are still enforced: arguments are validated against
// the full schema, and a violation names the argument and the rule.
func Advertised(full json.RawMessage) json.RawMessage {
	var s map[string]any
	if err := json.Unmarshal(full, &s); err != nil {
		panic("schemas: advertised: " + err.Error())
	}
	stripStringBounds(s)
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

// dropRequired removes the required lists nested in an output schema (the
// top level keeps its own): outputs are produced by sentry-mcp, not by the
// agent, and the lists cost bytes of tools/list in every conversation
// while telling a model nothing it acts on.
func dropRequired(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	s.Required = nil
	if s.Properties != nil {
		for p := s.Properties.Oldest(); p != nil; p = p.Next() {
			dropRequired(p.Value)
		}
	}
	dropRequired(s.Items)
	for _, sub := range s.AnyOf {
		dropRequired(sub)
	}
	for _, sub := range s.OneOf {
		dropRequired(sub)
	}
}
