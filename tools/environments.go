package tools

import (
	"context"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// maxEnvironmentsNamed bounds the environments an unknown-environment error
// lists.
const maxEnvironmentsNamed = 20

// unknownEnvironment is asked when Sentry answered a request filtered by
// env with nothing or a 404: some endpoints answer an unknown environment
// with 404, others with an empty list (BEHAVIOUR.md 4.19). It returns an
// error listing the organization's environments when env is not one of
// them, and nil when it is, or when that cannot be told (the grant lacks
// org:read, Sentry failed): the caller then reports what it has.
func (d *Deps) unknownEnvironment(ctx context.Context, p *Principal, org, env string) error {
	if env == "" || !p.Grant.Allows([]string{"org:read"}) {
		return nil
	}
	envs, _, err := d.Client.ListEnvironments(ctx, org)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(envs))
	for _, e := range envs {
		if e.Name == env {
			return nil
		}
		names = append(names, line(e.Name, capSlug))
	}
	if len(names) == 0 {
		return userErrorf("Organization %q has no environments yet; leave out environment %q.", line(org, capSlug), line(env, capSlug))
	}
	shown, more := render.Cap(names, maxEnvironmentsNamed)
	list := strings.Join(shown, ", ")
	if more > 0 {
		list += " " + render.More(more, "environment", "environments")
	}
	return userErrorf("No environment %q in organization %q; its environments: %s.", line(env, capSlug), line(org, capSlug), list)
}
