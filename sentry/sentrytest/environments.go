package sentrytest

import (
	"slices"
	"strconv"
	"strings"
)

// GET /api/0/organizations/{org}/environments/ (BEHAVIOUR.md 4.19): not
// paginated, ordered by name, the empty name left out; ?visibility= is
// visible (default), hidden or all (Org.HiddenEnvironments are hidden).
func listEnvironments(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	vis, ok := c.q.get("visibility")
	if !ok {
		vis = "visible"
	}
	if !slices.Contains([]string{"all", "hidden", "visible"}, vis) {
		c.detail(400, "Invalid value for 'visibility', valid values are: ['all', 'hidden', 'visible']")
		return
	}
	known := o.environments() // in first-seen order: the ids are stable
	names := slices.Clone(known)
	slices.SortFunc(names, strings.Compare)
	out := []any{}
	for _, n := range names {
		hidden := slices.Contains(o.HiddenEnvironments, n)
		if n == "" || vis == "visible" && hidden || vis == "hidden" && !hidden {
			continue
		}
		out = append(out, map[string]any{"id": strconv.Itoa(slices.Index(known, n) + 1), "name": n})
	}
	c.json(200, out)
}
