package sentry

import "context"

type tokenKey struct{}

// WithTokenSource makes ts the token source of every request made with
// ctx, in place of Config.Token: one client serves many callers, each
// request carrying its caller's credentials.
func WithTokenSource(ctx context.Context, ts TokenSource) context.Context {
	return context.WithValue(ctx, tokenKey{}, ts)
}

// source is the token source for a request: the caller's from ctx, else
// the client's own.
func (c *Client) source(ctx context.Context) TokenSource {
	if ts, ok := ctx.Value(tokenKey{}).(TokenSource); ok && ts != nil {
		return ts
	}
	return c.token
}
