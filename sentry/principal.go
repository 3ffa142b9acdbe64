package sentry

import (
	"context"
	"reflect"
)

type ctxKey int

const (
	tokenSourceKey ctxKey = iota
	principalKey
)

// WithTokenSource returns a context whose requests authenticate with ts
// instead of Config.Token: one client can serve many users, each request
// carrying its user's credential. A nil ts means Config.Token. The
// source's Refresher, if any, is the one asked on a 401.
func WithTokenSource(ctx context.Context, ts TokenSource) context.Context {
	return context.WithValue(ctx, tokenSourceKey, ts)
}

// WithPrincipalKey returns a context whose requests count as the principal
// key (a user id, say) for the client's per-endpoint concurrency limits:
// each principal has its own, as Sentry counts per user. Without it, a
// context's token source (WithTokenSource) is the principal when it is
// comparable (a pointer, a StaticToken); requests with neither share the
// client's limits. Give a key when token sources are made per request.
func WithPrincipalKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, principalKey, key)
}

// tokenSource is the token source of a request: the context's, else the
// client's.
func (c *Client) tokenSource(ctx context.Context) TokenSource {
	if ts, ok := ctx.Value(tokenSourceKey).(TokenSource); ok && ts != nil {
		return ts
	}
	return c.token
}

type principalName string

type principalSource struct{ ts TokenSource }

// principalOf is what a request's concurrency limits are keyed by (see
// limiterKey); nil for the client's own token.
func principalOf(ctx context.Context) any {
	if k, ok := ctx.Value(principalKey).(string); ok && k != "" {
		return principalName(k)
	}
	if ts, ok := ctx.Value(tokenSourceKey).(TokenSource); ok && ts != nil && reflect.ValueOf(ts).Comparable() {
		return principalSource{ts}
	}
	return nil
}
