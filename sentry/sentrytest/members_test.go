package sentrytest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestMembersListScopes(t *testing.T) {
	for _, tt := range []struct {
		scopes []string
		status int
	}{
		{[]string{"org:read"}, 403}, // org:read is not enough: MemberAndStaffPermission
		{[]string{"org:admin", "team:admin", "project:admin", "event:admin"}, 403},
		{[]string{"member:read"}, 200},
		{[]string{"member:invite"}, 200}, // implies member:read
		{[]string{"member:admin"}, 200},
	} {
		s := newTestServer(t, nil, Options{}, tt.scopes...)
		r := get(t, s, "/api/0/organizations/acme/members/")
		if r.status != tt.status {
			t.Errorf("%v: %d %s", tt.scopes, r.status, r.body)
		}
		if tt.status == 403 {
			wantDetail(t, r, 403, msgForbidden)
		}
	}
	s := newTestServer(t, nil, Options{}, "member:read")
	wantDetail(t, get(t, s, "/api/0/organizations/nope/members/"), 404, msgNotFound)
	if r := get(t, s, "/api/0/organizations/acme/members/"); r.header.Get("X-Sentry-Rate-Limit-Limit") != "40" {
		t.Errorf("rate limit %q", r.header.Get("X-Sentry-Rate-Limit-Limit"))
	}
}

// memberIDs lists "memberID/userID" of a members answer ("-" for invites).
func memberIDs(t *testing.T, r resp) string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var out []string
	for _, row := range r.list(t) {
		m := row.(map[string]any)
		uid := "-"
		if u, ok := m["user"].(map[string]any); ok {
			uid = u["id"].(string)
		}
		out = append(out, m["id"].(string)+"/"+uid)
	}
	return strings.Join(out, ",")
}

func TestMembersList(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "member:read")
	const all = "7301/1,7302/2,7315/3,7388/4,7412/-"
	for _, tt := range []struct{ query, want string }{
		{"", all},
		{"email:sam@acme.example", "7302/2"},
		{"email:SAM@acme.example", "7302/2"},
		{"email:jordan.lee@acme.example", "7412/-"},
		{"id:7302 id:7315", "7302/2,7315/3"},
		{"id:2", ""}, // a user id is not a member id
		{"id:abc", ""},
		{"user.id:2", "7302/2"},
		{"user.id:7302", ""},
		{"role:admin", "7315/3"},
		{"role:member", "7388/4,7412/-"},
		{"scope:member:admin", "7301/1,7302/2"},
		{"isInvited:true", "7412/-"},
		{"isInvited:false", "7301/1,7302/2,7315/3,7388/4"},
		{"ssoLinked:true", "7301/1,7302/2,7315/3"},
		{"ssoLinked:false", "7388/4,7412/-"},
		{"has2fa:true", "7301/1"},
		{"has2fa:false", "7302/2,7315/3,7388/4"},
		{"hasExternalUsers:true", ""},
		{"hasExternalUsers:false", all},
		{"PRIYA", "7315/3"},
		{"jordan", "7412/-"},
		{"acme.example role:manager", "7302/2"},
		{"team:platform", ""}, // unknown token: nothing
	} {
		if got := memberIDs(t, get(t, s, "/api/0/organizations/acme/members/?query="+url.QueryEscape(tt.query))); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.query, got, tt.want)
		}
	}
	r := get(t, s, "/api/0/organizations/acme/members/?per_page=2")
	if memberIDs(t, r) != "7301/1,7302/2" || !strings.Contains(r.header.Get("Link"), `rel="next"; results="true"; cursor="2:1:0"`) {
		t.Errorf("page 1: %s %s", r.body, r.header.Get("Link"))
	}
	r = get(t, s, "/api/0/organizations/acme/members/?per_page=2&cursor=2:2:0")
	if memberIDs(t, r) != "7412/-" || !strings.Contains(r.header.Get("Link"), `rel="next"; results="false"`) {
		t.Errorf("page 3: %s %s", r.body, r.header.Get("Link"))
	}
	wantDetail(t, get(t, s, "/api/0/organizations/acme/members/?cursor=x"), 400, msgInvalidCursor)

	// Rows have the example's shape: a member with its user, an invite with none.
	rows := get(t, s, "/api/0/organizations/acme/members/").list(t)
	ex := exampleJSON(t, "members.list.json").([]any)
	for i, want := range []map[string]any{ex[0].(map[string]any), ex[1].(map[string]any)} {
		got := rows[[]int{1, 4}[i]].(map[string]any)
		if k, w := keys(got), keys(want); !sameStrings(k, w) {
			t.Errorf("row keys %v, want %v", k, w)
		}
	}
	sam, invite := rows[1].(map[string]any), rows[4].(map[string]any)
	if sam["orgRole"] != "manager" || sam["pending"] != false || sam["name"] != "Sam Okafor" || sam["email"] != "sam@acme.example" || sam["user"].(map[string]any)["id"] != "2" {
		t.Errorf("sam %v", sam)
	}
	if invite["user"] != nil || invite["pending"] != true || invite["email"] != "jordan.lee@acme.example" || invite["name"] != "jordan.lee@acme.example" || invite["orgRole"] != "member" {
		t.Errorf("invite %v", invite)
	}
	if dana := rows[0].(map[string]any); dana["orgRole"] != "owner" || dana["flags"].(map[string]any)["sso:linked"] != true || dana["inviterName"] != nil {
		t.Errorf("dana %v", dana)
	}
}

func sameStrings(a, b []string) bool {
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Every user id the members list shows is one the issue PUT assigns;
// member ids and invites are refused, never someone else.
func TestMemberUserIDsAssign(t *testing.T) {
	for _, data := range []*Data{DemoData(), ExampleData()} {
		s := newTestServer(t, data, Options{}, "member:read", "event:write", "org:read")
		o := data.Orgs[0]
		issue := "/api/0/organizations/" + o.Slug + "/issues/" + o.Issues[0].ID + "/"
		var rows []struct {
			ID    string `json:"id"`
			Email string `json:"email"`
			User  *struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		if err := json.Unmarshal(get(t, s, "/api/0/organizations/"+o.Slug+"/members/").body, &rows); err != nil || len(rows) < 2 {
			t.Fatalf("%v %v", err, rows)
		}
		for _, m := range rows {
			if m.User == nil {
				r := do(t, s, "PUT", issue, testToken, fmt.Sprintf(`{"assignedTo": %q}`, m.Email))
				if r.status != 400 || !strings.Contains(string(r.body), "Could not parse actor") {
					t.Errorf("invite %s assigned: %d %s", m.Email, r.status, r.body)
				}
				continue
			}
			if m.ID == m.User.ID {
				t.Errorf("member id %s is the user id", m.ID)
			}
			r := do(t, s, "PUT", issue, testToken, fmt.Sprintf(`{"assignedTo": "user:%s"}`, m.User.ID))
			if a, _ := r.object(t)["assignedTo"].(map[string]any); r.status != 200 || a["id"] != m.User.ID || a["email"] != m.Email {
				t.Errorf("user:%s: %d %s", m.User.ID, r.status, r.body)
			}
			r = do(t, s, "PUT", issue, testToken, fmt.Sprintf(`{"assignedTo": "user:%s"}`, m.ID))
			if r.status != 400 || !strings.Contains(string(r.body), "User does not exist") {
				t.Errorf("member id user:%s: %d %s", m.ID, r.status, r.body)
			}
		}
	}
}
