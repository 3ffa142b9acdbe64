// Package schemas holds the Go types of every tool's input and output and
// turns them into JSON Schemas (invopop/jsonschema), the single source of
// what agents see and what arguments are accepted.
package schemas

import (
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"
)

// For returns the JSON Schema of v's type: inlined (no $refs), closed
// (additionalProperties false), without $schema/$id noise, compact.
func For(v any) json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true}
	s := r.Reflect(v)
	s.Version = ""
	b, err := json.Marshal(s)
	if err != nil {
		panic("schemas: " + reflect.TypeOf(v).String() + ": " + err.Error()) // a bug in a type, caught by tests
	}
	return b
}

// Patterns shared by inputs and the client's own checks.
const (
	slugPattern = `^[A-Za-z0-9_-]+$`
)
