package sentry

import "context"

// limitOf reports the concurrency limit learned for an endpoint ("GET
// /api/0/organizations/%s/issues/") for the client's own token, 0 if none.
func (c *Client) limitOf(endpoint string) int { return c.limitFor(context.Background(), endpoint) }

// limitFor is limitOf for the principal of ctx (WithPrincipalKey,
// WithTokenSource).
func (c *Client) limitFor(ctx context.Context, endpoint string) int {
	l := c.limiterFor(ctx, endpoint)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}
