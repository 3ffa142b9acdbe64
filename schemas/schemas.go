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
	b, err := json.Marshal(s)
	if err != nil {
		panic("schemas: " + reflect.TypeOf(v).String() + ": " + err.Error()) // a bug in a type, caught by tests
	}
	return b
}
