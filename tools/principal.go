package tools

import (
	"context"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// Principal is who is calling, what they may do and where: the caller's
// token source, their grant (token scopes narrowed by --scopes and
// --read-only) and their organization pin. It travels in the request's
// context; one server serves any number of principals.
type Principal struct {
	// Key identifies the principal for per-principal caches (e.g. the
	// Sentry host and user, or a hosted grant's id). Two principals with
	// the same Key must be the same caller.
	Key   string
	Token sentry.TokenSource
	Grant auth.Grant
	// Org pins the principal to one organization ("" = any).
	Org string
	// Problem, when set, says why there are no usable credentials (not
	// signed in, token rejected) and what to do; only tools that need no
	// scope are enabled, and whoami shows it.
	Problem string
	// Warning, when set, is something the caller should act on soon (e.g.
	// Sentry refused to refresh the sign-in; the token works until ...);
	// whoami shows it.
	Warning string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// noPrincipal is what a request without a principal is: nobody, allowed
// nothing that needs a scope.
var noPrincipal = &Principal{Grant: auth.NewGrant([]string{}, nil, false), Problem: "no credentials came with this request"}

func principal(ctx context.Context) *Principal {
	if p := PrincipalFrom(ctx); p != nil {
		return p
	}
	return noPrincipal
}

// pin is the principal's organization pin, lowercased: the key of the
// per-organization schema cache.
func (p *Principal) pin() string { return strings.ToLower(p.Org) }
