package sentrytest

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Membership is what the members list knows of a member beyond the user
// serialization (OrganizationMember): the member's own id, which is not the
// user id, the org role and flags; or a pending invite, which has no user.
type Membership struct {
	ID string // member id (OrganizationMember.id), numeric
	// UserID is the id of a user of Data.User or Org.Members; "" makes
	// the row a pending invite of Email.
	UserID      string
	Email       string // an invite's address; members' come from their user
	Role        string // org role; "" = member. Data.User's is always Org.Role.
	DateCreated time.Time
	InviterName string // "" = null
	SSOLinked   bool
	Expired     bool // an invite whose token expired
}

func init() {
	addRoute("OrganizationMemberIndexEndpoint", "organizations/{org}/members", permMember,
		map[string]func(*call){http.MethodGet: listMembers}, map[string][2]int{"GET": {40, 1}, "POST": {40, 1}})
}

// MemberAndStaffPermission (MemberPermission's scope map).
var permMember = map[string][]string{
	"GET":  {"member:read", "member:write", "member:admin"},
	"POST": {"member:write", "member:admin", "member:invite"},
}

// memberRow is one row of the members list: a membership and its user
// (nil for an invite).
type memberRow struct {
	m    *Membership
	user map[string]any
}

// memberRows are the organization's members in member id order: every
// user of d.members(o), with its Membership or a derived one (a member id
// derived from the user id, role member), then the pending invites.
func (d *Data) memberRows(o *Org) []memberRow {
	var rows []memberRow
	for _, u := range d.members(o) {
		uid := fmt.Sprint(u["id"])
		i := slices.IndexFunc(o.Memberships, func(m *Membership) bool { return m.UserID == uid })
		m := &Membership{ID: strconv.Itoa(100000 + hashInt(900000, o.ID, uid)), UserID: uid, DateCreated: o.DateCreated}
		if i >= 0 {
			c := *o.Memberships[i]
			m = &c
		}
		if fmt.Sprint(u["id"]) == fmt.Sprint(d.userID()) {
			m.Role = o.Role
			if m.Role == "" {
				m.Role = "owner"
			}
		}
		rows = append(rows, memberRow{m: m, user: u})
	}
	for _, m := range o.Memberships {
		if m.UserID == "" {
			rows = append(rows, memberRow{m: m})
		}
	}
	slices.SortStableFunc(rows, func(a, b memberRow) int {
		x, _ := strconv.ParseInt(a.m.ID, 10, 64)
		y, _ := strconv.ParseInt(b.m.ID, 10, 64)
		return cmp.Compare(x, y)
	})
	return rows
}

func (r memberRow) role() string {
	if r.m.Role == "" {
		return "member"
	}
	return r.m.Role
}

func (r memberRow) email() string {
	if r.user == nil {
		return r.m.Email
	}
	s, _ := r.user["email"].(string)
	return s
}

// member is OrganizationMemberSerializer's row (members.list.json: the
// first entry for members, the second, an invite, for invites).
func (v *view) member(r memberRow) map[string]any {
	rows := example("members.list.json").([]any)
	tpl := rows[0]
	if r.user == nil {
		tpl = rows[1]
	}
	m := copyMap(tpl.(map[string]any))
	m["id"], m["email"], m["orgRole"] = r.m.ID, r.email(), r.role()
	m["user"], m["name"], m["pending"] = nil, r.email(), true
	if r.user != nil {
		m["user"], m["pending"] = copyMap(r.user), false
		if n, _ := r.user["name"].(string); n != "" {
			m["name"] = n // user.get_display_name()
		}
	}
	m["expired"] = r.m.Expired
	flags := m["flags"].(map[string]any)
	flags["sso:linked"] = r.m.SSOLinked
	m["dateCreated"] = isoTime(r.m.DateCreated)
	m["inviterName"] = nil
	if r.m.InviterName != "" {
		m["inviterName"] = r.m.InviterName
	}
	return m
}

// GET /api/0/organizations/{org}/members/ (organization_member_index.py):
// approved members and pending invites ordered by member id,
// OffsetPaginator. Query tokens email:, id:, user.id:, scope:, role:,
// isInvited:, ssoLinked:, has2fa:, hasExternalUsers: and free text (user
// name, username or email, invite email); any other token matches nothing.
func listMembers(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	rows := c.d.memberRows(o)
	if q, _ := c.q.get("query"); q != "" {
		keys, vals := tokenizeQuery(q)
		for _, k := range keys {
			vs := vals[k]
			rows = slices.DeleteFunc(rows, func(r memberRow) bool { return !memberMatches(r, k, vs) })
		}
	}
	serveOffsetPage(c, rows, func(r memberRow) any { return c.v.member(r) })
}

func memberMatches(r memberRow, key string, vs []string) bool {
	userStr := func(k string) string {
		if r.user == nil {
			return ""
		}
		s, _ := r.user[k].(string)
		return s
	}
	digits := func() []string {
		var out []string
		for _, v := range vs {
			if isDecimal(v) {
				out = append(out, strings.TrimLeft(v, "0"))
			}
		}
		return out
	}
	truthy := slices.Contains(vs, "true")
	switch key {
	case "email":
		return slices.Contains(vs, r.m.Email) || (r.user != nil && containsFold(vs, userStr("email")))
	case "id":
		return slices.Contains(digits(), strings.TrimLeft(r.m.ID, "0"))
	case "user.id":
		return r.user != nil && slices.Contains(digits(), strings.TrimLeft(r.m.UserID, "0"))
	case "scope":
		return slices.ContainsFunc(roleScopes[r.role()], func(s string) bool { return slices.Contains(vs, s) })
	case "role":
		return slices.Contains(vs, r.role())
	case "isInvited":
		return (r.user == nil) == truthy
	case "ssoLinked":
		return r.m.SSOLinked == truthy
	case "has2fa":
		has, _ := r.user["has2fa"].(bool)
		return r.user != nil && has == truthy
	case "hasExternalUsers":
		return !truthy // the fake has no external actors
	case "query":
		t := strings.ToLower(strings.Join(vs, " "))
		for _, s := range []string{userStr("name"), userStr("username"), userStr("email"), r.m.Email} {
			if s != "" && strings.Contains(strings.ToLower(s), t) {
				return true
			}
		}
		return false
	}
	return false
}

// demoMemberships are acme's member rows. Member ids never equal a user
// id, so a member id passed as user:ID is refused rather than assigning
// someone else; one invite is pending.
func demoMemberships(o *Org) []*Membership {
	at := func(days int) time.Time { return o.DateCreated.Add(time.Duration(days) * 24 * time.Hour) }
	return []*Membership{
		{ID: "7301", UserID: "1", DateCreated: o.DateCreated, SSOLinked: true},
		{ID: "7302", UserID: "2", Role: "manager", DateCreated: at(2), InviterName: "dana@acme.example", SSOLinked: true},
		{ID: "7315", UserID: "3", Role: "admin", DateCreated: at(40), InviterName: "dana@acme.example", SSOLinked: true},
		{ID: "7388", UserID: "4", DateCreated: at(410), InviterName: "sam@acme.example"},
		{ID: "7412", Email: "jordan.lee@acme.example", DateCreated: at(1360), InviterName: "sam@acme.example"},
	}
}
