package sentrytest

import (
	"embed"
	"encoding/json"
	"fmt"
	"sync"
)

// examples holds verbatim copies of Sentry's published (or source-derived)
// JSON examples from /work/shared/sentry-api/examples. Every object the fake
// serves starts as a deep copy of one of them, so responses keep Sentry's
// real shapes, including fields this package never interprets.
//
//go:embed examples/*.json
var examples embed.FS

var (
	decodedMu sync.Mutex
	decoded   = map[string]any{}
)

// example returns a fresh decoded copy of an embedded example file.
func example(name string) any {
	decodedMu.Lock()
	v, ok := decoded[name]
	if !ok {
		b, err := examples.ReadFile("examples/" + name)
		if err != nil {
			decodedMu.Unlock()
			panic(fmt.Sprintf("sentrytest: missing embedded example %s: %v", name, err))
		}
		if err := json.Unmarshal(b, &v); err != nil {
			decodedMu.Unlock()
			panic(fmt.Sprintf("sentrytest: embedded example %s: %v", name, err))
		}
		decoded[name] = v
	}
	decodedMu.Unlock()
	return deepCopy(v)
}

// exampleObject returns the example as an object, or its first element when
// the example is a list of objects.
func exampleObject(name string) map[string]any {
	switch v := example(name).(type) {
	case map[string]any:
		return v
	case []any:
		if len(v) > 0 {
			if m, ok := v[0].(map[string]any); ok {
				return m
			}
		}
	}
	panic("sentrytest: example " + name + " is not an object or a list of objects")
}

// exampleDetail returns the "detail" string of an embedded error example,
// so error messages come from the ground-truth files.
func exampleDetail(name string) string {
	if s, ok := exampleObject(name)["detail"].(string); ok {
		return s
	}
	panic("sentrytest: example " + name + " has no string detail")
}

// Error messages, taken from the example files.
var (
	msgInvalidToken   = exampleDetail("error.401.invalid_token.json")
	msgTokenExpired   = exampleDetail("error.401.token_expired.json")
	msgNoCredentials  = exampleDetail("error.401.no_credentials.json")
	msgForbidden      = exampleDetail("error.403.json")
	msgNotFound       = exampleDetail("error.404.json")
	msgNoEvent        = exampleDetail("error.404.no_event.json")
	msgInvalidCursor  = exampleDetail("error.400.invalid_cursor.json")
	msgProjStatsRange = exampleDetail("error.400.invalid_stats_period.json")
)

// deepCopy copies a decoded JSON value (maps, slices and scalars).
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	case []map[string]any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	case []string:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = e
		}
		return s
	default:
		return v
	}
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return deepCopy(m).(map[string]any)
}
