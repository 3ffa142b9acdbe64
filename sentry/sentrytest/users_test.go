package sentrytest

import (
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"
)

// authorizeAs runs /oauth/authorize/ with the session cookie (none when
// session is "") and returns the redirect's query.
func authorizeAs(t *testing.T, s *Server, session string, params url.Values) url.Values {
	t.Helper()
	var hdr []string
	if session != "" {
		hdr = []string{"Cookie", SessionCookie + "=" + session}
	}
	return location(t, send(t, "GET", s.URL+"/oauth/authorize/?"+params.Encode(), "", hdr...)).Query()
}

// signIn is the code flow of a browser holding session; it returns the
// token response.
func signIn(t *testing.T, s *Server, session, scope string) map[string]any {
	t.Helper()
	c := authorizeAs(t, s, session, authorizeParams("scope", scope)).Get("code")
	if !hex64.MatchString(c) {
		t.Fatalf("no code for session %q", session)
	}
	return tokenOK(t, postForm(t, s, "/oauth/token/", exchangeForm(c)))
}

func orgSlugs(t *testing.T, r resp) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("organizations: status %d (body %s)", r.status, r.body)
	}
	var out []string
	for _, o := range r.list(t) {
		out = append(out, o.(map[string]any)["slug"].(string))
	}
	slices.Sort(out)
	return out
}

func userOf(t *testing.T, m map[string]any) [3]any {
	t.Helper()
	u, ok := m["user"].(map[string]any)
	if !ok {
		t.Fatalf("no user object in %v", m)
	}
	return [3]any{u["id"], u["name"], u["email"]}
}

func TestUsersSignInAsThemselves(t *testing.T) {
	d := DemoDataAt(oauthBaseNow)
	acme, labs := d.Orgs[0], d.Orgs[1]
	if acme.Slug != "acme" || labs.Slug != "acme-labs" || len(acme.Issues) == 0 || len(labs.Issues) == 0 || len(labs.Projects) == 0 {
		t.Fatal("demo data changed: want acme and acme-labs with issues and projects")
	}
	s := newTestServer(t, d, Options{Now: func() time.Time { return oauthBaseNow }})
	s.AddOAuthApp(OAuthApp{ClientID: oaClientID, ClientSecret: oaSecret, RedirectURIs: []string{oaRedirect}})
	alice := s.AddUser(User{ID: "9001", Name: "Alice Ng", Email: "alice@acme.example", Orgs: []string{"acme"}})
	bob := s.AddUser(User{ID: "9002", Name: "Bob Ode", Email: "bob@labs.example", Orgs: []string{"acme-labs"}})
	carol := s.AddUser(User{ID: "9003", Name: "Carol Poe", Email: "carol@acme.example"}) // nil Orgs: every org
	nobody := s.AddUser(User{ID: "9004", Name: "Nobody", Email: "nobody@acme.example", Orgs: []string{}})
	if alice == bob || !hex64.MatchString(alice) {
		t.Fatalf("sessions %q %q", alice, bob)
	}

	type orgCheck struct {
		path   string
		status int // 200, or 403 with Sentry's permission body
	}
	projects := func(o *Org) string { return "/api/0/organizations/" + o.Slug + "/projects/" }
	issue := func(o *Org) string { return "/api/0/issues/" + o.Issues[0].ID + "/" }
	projIssues := func(o *Org) string { return "/api/0/projects/" + o.Slug + "/" + o.Projects[0].Slug + "/issues/" }
	tests := []struct {
		name    string
		session string
		user    [3]any
		orgs    []string
		checks  []orgCheck
	}{
		{"alice, acme only", alice, [3]any{"9001", "Alice Ng", "alice@acme.example"}, []string{"acme"}, []orgCheck{
			{projects(acme), 200}, {issue(acme), 200}, {projIssues(acme), 200},
			{projects(labs), 403}, {issue(labs), 403}, {projIssues(labs), 403},
			{"/api/0/organizations/" + labs.ID + "/releases/", 403}, // by numeric id too
			{"/api/0/organizations/acme-labs/issues/" + labs.Issues[0].ShortID + "/", 403},
		}},
		{"bob, acme-labs only", bob, [3]any{"9002", "Bob Ode", "bob@labs.example"}, []string{"acme-labs"}, []orgCheck{
			{projects(acme), 403}, {issue(acme), 403}, {"/api/0/organizations/acme/members/", 403},
			{projects(labs), 200}, {issue(labs), 200},
		}},
		{"carol, every org", carol, [3]any{"9003", "Carol Poe", "carol@acme.example"}, []string{"acme", "acme-labs"}, []orgCheck{
			{projects(acme), 200}, {projects(labs), 200}, {issue(labs), 200},
		}},
		{"member of none", nobody, [3]any{"9004", "Nobody", "nobody@acme.example"}, nil, []orgCheck{
			{projects(acme), 403}, {projects(labs), 403},
		}},
		{"no cookie: the default user", "", [3]any{"1", "Dana Reyes", "dana@acme.example"}, []string{"acme", "acme-labs"}, []orgCheck{
			{projects(acme), 200}, {projects(labs), 200}, {issue(labs), 200},
		}},
		{"unknown session: the default user", "not-a-session", [3]any{"1", "Dana Reyes", "dana@acme.example"}, []string{"acme", "acme-labs"}, []orgCheck{
			{projects(acme), 200}, {projects(labs), 200},
		}},
	}
	tokens := map[string]string{} // access token -> user id
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := signIn(t, s, tt.session, "org:read project:read event:read member:read")
			if got := userOf(t, body); got != tt.user {
				t.Fatalf("token response user %v, want %v", got, tt.user)
			}
			tok := body["access_token"].(string)
			tokens[tok] = tt.user[0].(string)

			who := do(t, s, "GET", "/api/0/", tok, "")
			if who.status != 200 {
				t.Fatalf("whoami %d %s", who.status, who.body)
			}
			m := who.object(t)
			if got := userOf(t, m); got != tt.user {
				t.Fatalf("whoami user %v, want %v", got, tt.user)
			}
			if u := m["user"].(map[string]any); u["username"] != tt.user[2] || u["isActive"] != true {
				t.Fatalf("whoami user serialization %v", u)
			}
			if got := orgSlugs(t, do(t, s, "GET", "/api/0/organizations/", tok, "")); !reflect.DeepEqual(got, tt.orgs) {
				t.Fatalf("organizations %v, want %v", got, tt.orgs)
			}
			for _, c := range tt.checks {
				r := do(t, s, "GET", c.path, tok, "")
				if c.status == 403 {
					wantDetail(t, r, 403, msgForbidden)
				} else if r.status != c.status {
					t.Fatalf("%s: status %d, want %d (body %s)", c.path, r.status, c.status, r.body)
				}
			}
		})
	}
	// An unknown organization is still 404 for a user who is a member of
	// nothing: membership is decided only for organizations that exist.
	for tok, id := range tokens {
		if id == "9004" {
			wantDetail(t, do(t, s, "GET", "/api/0/organizations/nope/projects/", tok, ""), 404, msgNotFound)
		}
	}

	// The request log tells each token's requests apart.
	seen := map[string]int{}
	for _, r := range s.Requests() {
		if len(r.Authorization) < 7 || r.Authorization[:7] != "Bearer " {
			if r.User != "" {
				t.Fatalf("request %s %s without a bearer logged as user %q", r.Method, r.Path, r.User)
			}
			continue
		}
		want, ok := tokens[r.Authorization[7:]]
		if !ok {
			t.Fatalf("request %s with an unexpected token", r.Path)
		}
		if r.User != want {
			t.Fatalf("request %s %s logged user %q, want %q", r.Method, r.Path, r.User, want)
		}
		seen[want]++
	}
	for _, id := range []string{"9001", "9002", "9003", "9004", "1"} {
		if seen[id] == 0 {
			t.Fatalf("no logged request of user %s (%v)", id, seen)
		}
	}
}

func TestUserTokenLifecycle(t *testing.T) {
	s := newOAuthServer(t, Options{TokenLifetime: time.Hour})
	alice := s.AddUser(User{ID: "9001", Name: "Alice Ng", Email: "alice@acme.example", Orgs: []string{"acme"}})
	aliceUser := [3]any{"9001", "Alice Ng", "alice@acme.example"}
	dana := [3]any{"1", "Dana Reyes", "dana@acme.example"}

	whoami := func(t *testing.T, tok string) [3]any {
		t.Helper()
		r := do(t, s, "GET", "/api/0/", tok, "")
		if r.status != 200 {
			t.Fatalf("whoami %d %s", r.status, r.body)
		}
		return userOf(t, r.object(t))
	}

	t.Run("refresh keeps the user", func(t *testing.T) {
		first := signIn(t, s, alice, "org:read")
		s.Advance(2 * time.Hour) // expired; refresh still works
		second := tokenOK(t, postForm(t, s, "/oauth/token/", refreshForm(first["refresh_token"].(string))))
		if got := userOf(t, second); got != aliceUser {
			t.Fatalf("refresh response user %v", got)
		}
		if got := whoami(t, second["access_token"].(string)); got != aliceUser {
			t.Fatalf("refreshed token user %v", got)
		}
		if got := orgSlugs(t, do(t, s, "GET", "/api/0/organizations/", second["access_token"].(string), "")); !reflect.DeepEqual(got, []string{"acme"}) {
			t.Fatalf("refreshed token organizations %v", got)
		}
	})

	t.Run("consent by POST with the cookie", func(t *testing.T) {
		p := authorizeParams("scope", "org:read")
		p.Set("op", "approve")
		r := send(t, "POST", s.URL+"/oauth/authorize/", p.Encode(), "Cookie", "other=1; "+SessionCookie+"="+alice)
		body := tokenOK(t, postForm(t, s, "/oauth/token/", exchangeForm(location(t, r).Query().Get("code"))))
		if got := userOf(t, body); got != aliceUser {
			t.Fatalf("user %v", got)
		}
	})

	t.Run("implicit grant", func(t *testing.T) {
		q := location(t, send(t, "GET", s.URL+"/oauth/authorize/?"+authorizeParams("response_type", "token", "scope", "org:read").Encode(), "",
			"Cookie", SessionCookie+"="+alice))
		frag, err := url.ParseQuery(q.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		if got := whoami(t, frag.Get("access_token")); got != aliceUser {
			t.Fatalf("implicit token user %v", got)
		}
	})

	t.Run("the code is the signer's, not the exchanger's", func(t *testing.T) {
		// Sentry's token view has no session: whoever redeems the code
		// gets the user who approved it.
		c := authorizeAs(t, s, alice, authorizeParams("scope", "org:read")).Get("code")
		f := exchangeForm(c)
		r := send(t, "POST", s.URL+"/oauth/token/", f.Encode())
		if got := userOf(t, tokenOK(t, r)); got != aliceUser {
			t.Fatalf("user %v", got)
		}
	})

	t.Run("device flow and AddToken stay the default user's", func(t *testing.T) {
		dc := tokenOK(t, postForm(t, s, "/oauth/device/code/", url.Values{"client_id": {oaClientID}, "scope": {"org:read"}}))
		if err := s.ApproveDevice(dc["user_code"].(string), true); err != nil {
			t.Fatal(err)
		}
		body := tokenOK(t, postForm(t, s, "/oauth/token/", url.Values{"grant_type": {grantDeviceCode}, "device_code": {dc["device_code"].(string)}, "client_id": {oaClientID}},
			"Cookie", SessionCookie+"="+alice))
		if got := userOf(t, body); got != dana {
			t.Fatalf("device token response user %v", got)
		}
		if got := whoami(t, body["access_token"].(string)); got != dana {
			t.Fatalf("device token user %v", got)
		}
		s.AddToken("sntryu_plain", "org:read")
		if got := whoami(t, "sntryu_plain"); got != dana {
			t.Fatalf("AddToken user %v", got)
		}
		if got := orgSlugs(t, do(t, s, "GET", "/api/0/organizations/", "sntryu_plain", "")); !reflect.DeepEqual(got, []string{"acme", "acme-labs"}) {
			t.Fatalf("AddToken organizations %v", got)
		}
	})

	t.Run("AddUser replaces by ID", func(t *testing.T) {
		again := s.AddUser(User{ID: "9001", Name: "Alice Ng-Smith", Email: "alice@acme.example", Orgs: []string{"acme-labs"}})
		for _, sess := range []string{alice, again} {
			tok := signIn(t, s, sess, "org:read")["access_token"].(string)
			if got := whoami(t, tok); got != [3]any{"9001", "Alice Ng-Smith", "alice@acme.example"} {
				t.Fatalf("user %v", got)
			}
			if got := orgSlugs(t, do(t, s, "GET", "/api/0/organizations/", tok, "")); !reflect.DeepEqual(got, []string{"acme-labs"}) {
				t.Fatalf("organizations %v", got)
			}
		}
	})
}

// A non-member is refused before the organization's SSO or 2FA 401 (which
// concerns members), and a member's role comes from their Membership.
func TestUserMembershipAndRole(t *testing.T) {
	s := newOAuthServer(t, Options{})
	alice := s.AddUser(User{ID: "9001", Name: "Alice", Email: "alice@acme.example", Orgs: []string{"acme"}})
	// User 4 has a Membership in acme with Role "" (member); user 2 is a
	// manager there. The default user owns acme and is a member of acme-labs.
	u4 := s.AddUser(User{ID: "4", Name: "Four", Email: "four@acme.example"})
	u2 := s.AddUser(User{ID: "2", Name: "Two", Email: "two@acme.example"})
	s.AddToken(testToken, "org:read", "member:read")
	tok := func(sess string) string {
		return signIn(t, s, sess, "org:read member:read")["access_token"].(string)
	}
	s.RequireUserAction("acme-labs", CodeSSORequired)

	tests := []struct {
		name   string
		token  string
		path   string
		status int
		want   []string // organization slugs, for list paths
	}{
		{"non-member: 403, not the SSO 401", tok(alice), "/api/0/organizations/acme-labs/projects/", 403, nil},
		{"member: the SSO 401", tok(u4), "/api/0/organizations/acme-labs/projects/", 401, nil},
		{"default user: the SSO 401", testToken, "/api/0/organizations/acme-labs/projects/", 401, nil},
		{"owner list: default user owns acme", testToken, "/api/0/organizations/?owner=1", 200, []string{"acme"}},
		{"owner list: a Membership without role is a member", tok(u4), "/api/0/organizations/?owner=1", 200, nil},
		{"owner list: a manager owns nothing", tok(u2), "/api/0/organizations/?owner=1", 200, nil},
		{"owner list: no Membership, so Org.Role (owner)", tok(alice), "/api/0/organizations/?owner=1", 200, []string{"acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, s, "GET", tt.path, tt.token, "")
			switch {
			case tt.status == 403:
				wantDetail(t, r, 403, msgForbidden)
			case tt.status == 401:
				if r.status != 401 || r.object(t)["detail"].(map[string]any)["code"] != CodeSSORequired {
					t.Fatalf("status %d body %s, want the SSO 401", r.status, r.body)
				}
			default:
				if r.status != tt.status {
					t.Fatalf("status %d (body %s)", r.status, r.body)
				}
				var got []string
				for _, o := range r.list(t) {
					got = append(got, o.(map[string]any)["organization"].(map[string]any)["slug"].(string))
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("owned %v, want %v", got, tt.want)
				}
			}
		})
	}
}
