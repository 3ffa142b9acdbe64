package authserver

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/redirecturi"
	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// authRequest is a validated authorization request.
type authRequest struct {
	client                        *client
	redirectURI, state, challenge string
	resource, path, org           string
	scopes                        []string // what will be asked of Sentry
	dropped                       []string // asked for, but not allowed here
}

// authError is a refused authorization request: before the client and
// its redirect URI are known good it is a page (never a redirect, RFC
// 6749 s4.1.2.1), after that a redirect with error.
type authError struct {
	page     string // the page's message when no redirect may be made
	code     string // the redirect's error
	describe string
}

// challengePattern is a PKCE S256 challenge: base64url of 32 bytes.
var challengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// parseAuthorize validates the parameters of GET or POST /oauth/authorize.
func (s *Server) parseAuthorize(r *http.Request, q url.Values) (*authRequest, *authError) {
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method", "resource", "scope"} {
		if len(q[k]) > 1 {
			return nil, &authError{page: "The sign-in request repeats the parameter " + k + "."}
		}
	}
	ctx, cancel := ctxTimeout(r)
	defer cancel()
	c, err := s.lookupClient(ctx, q.Get("client_id"))
	switch {
	case errors.Is(err, errUnknownClient):
		return nil, &authError{page: "This MCP client is not registered with this server. Remove the server from your MCP client and add it again."}
	case err != nil:
		// The reason (an address the client's URL resolves to, say) goes to
		// the log, not to whoever opened the page.
		s.log.Warn("the client's metadata document could not be used", "client_id", render.Line(q.Get("client_id"), 200), "error", err)
		return nil, &authError{page: "This MCP client's metadata document could not be fetched or is not valid, so this server cannot check where to send you. The server's log says why."}
	}
	a := &authRequest{client: c, redirectURI: q.Get("redirect_uri"), state: q.Get("state")}
	if a.redirectURI == "" && len(c.redirectURIs) == 1 {
		a.redirectURI = c.redirectURIs[0]
	}
	if a.redirectURI == "" || !redirecturi.Matches(c.redirectURIs, a.redirectURI) {
		return nil, &authError{page: "The redirect URI of this sign-in request is not one the MCP client registered, so this server will not send you there."}
	}
	if q.Get("response_type") != "code" {
		return a, &authError{code: "unsupported_response_type", describe: "response_type must be code"}
	}
	a.challenge = q.Get("code_challenge")
	if q.Get("code_challenge_method") != "S256" || !challengePattern.MatchString(a.challenge) {
		return a, &authError{code: "invalid_request", describe: "PKCE is required: code_challenge (S256) and code_challenge_method=S256"}
	}
	a.resource = q.Get("resource")
	var ok bool
	if a.path, a.org, ok = s.resourcePath(a.resource); !ok {
		return a, &authError{code: "invalid_target", describe: "resource must be " + s.issuer + "/mcp or " + s.issuer + "/mcp/{organization}"}
	}
	asked := strings.Fields(q.Get("scope"))
	if len(asked) == 0 {
		asked = s.defaults
	}
	if len(asked) > len(auth.KnownScopes) {
		return a, &authError{code: "invalid_scope", describe: "too many scopes"}
	}
	a.scopes = s.bound(asked)
	slices.Sort(a.scopes)
	for _, sc := range asked {
		if !slices.Contains(a.scopes, sc) && !slices.Contains(a.dropped, sc) {
			a.dropped = append(a.dropped, render.Line(sc, 40))
		}
	}
	if len(a.scopes) == 0 {
		return a, &authError{code: "invalid_scope", describe: "none of the requested scopes may be granted on this server; it allows: " + strings.Join(s.allowed, " ")}
	}
	return a, nil
}

// fail answers a refused authorization request.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, a *authRequest, e *authError) {
	if e.page != "" || a == nil {
		page(w, http.StatusBadRequest, "Sign-in refused", e.page)
		return
	}
	s.redirectToClient(w, r, a.redirectURI, "error", e.code, "error_description", e.describe, "state", a.state)
}

// redirectToClient sends the browser back to the client's redirect URI
// with kv added to its query, and iss (RFC 9207).
func (s *Server) redirectToClient(w http.ResponseWriter, r *http.Request, redirectURI string, kv ...string) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		page(w, http.StatusBadRequest, "Sign-in refused", "The redirect URI is not valid.")
		return
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	q.Set("iss", s.issuer)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// The browser cookie ties the consent form and Sentry's callback to the
// browser that saw the consent page.
const browserCookie = "smcp_browser"

func (s *Server) cookieName() string {
	if s.cfg.PublicURL.Scheme == "https" {
		return "__Host-" + browserCookie
	}
	return browserCookie
}

// browser returns the request's browser cookie value, or a new one set on w.
func (s *Server) browser(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.cookieName()); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	v := random("", 32)
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: v, Path: "/", HttpOnly: true,
		Secure: s.cfg.PublicURL.Scheme == "https", SameSite: http.SameSiteLaxMode,
		MaxAge: int((30 * time.Minute).Seconds()),
	})
	return v
}

// csrf is the consent form's token: a MAC of the browser cookie and the
// request the form approves.
func (s *Server) csrf(browser string, a *authRequest) string {
	msg := strings.Join([]string{browser, a.client.id, a.redirectURI, a.state, a.challenge, a.resource, strings.Join(a.scopes, " ")}, "\x00")
	return base64.RawURLEncoding.EncodeToString(s.cfg.Keys.MAC("consent", []byte(msg)))
}

// authorize (GET) validates the request and shows the consent page.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	a, e := s.parseAuthorize(r, r.URL.Query())
	if e != nil {
		s.fail(w, r, a, e)
		return
	}
	b := s.browser(w, r)
	s.consentPage(w, a, s.csrf(b, a))
}

// decide (POST) is the consent form's answer.
func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, "Sign-in refused", "The consent form could not be read.")
		return
	}
	a, e := s.parseAuthorize(r, r.PostForm)
	if e != nil {
		s.fail(w, r, a, e)
		return
	}
	c, err := r.Cookie(s.cookieName())
	want := ""
	if err == nil {
		want = s.csrf(c.Value, a)
	}
	got := r.PostForm.Get("csrf_token")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		page(w, http.StatusForbidden, "Sign-in refused", "This consent form did not come from this browser's sign-in page (missing or wrong CSRF token). Start the sign-in again from your MCP client.")
		return
	}
	switch r.PostForm.Get("decision") {
	case "approve":
	case "deny":
		s.log.Info("consent denied", "client_id", a.client.id)
		s.redirectToClient(w, r, a.redirectURI, "error", "access_denied", "error_description", "the user denied access", "state", a.state)
		return
	default:
		page(w, http.StatusBadRequest, "Sign-in refused", "Choose Approve or Deny.")
		return
	}
	verifier := random("", 32)
	state := random("", 32)
	p := &store.Pending{
		ClientID: a.client.id, ClientName: a.client.name, RedirectURI: a.redirectURI, ClientState: a.state,
		CodeChallenge: a.challenge, Resource: a.path, Org: a.org, Scopes: a.scopes, Verifier: verifier,
		Browser: store.HashToken(c.Value), Expires: time.Now().Add(pendingLifetime),
	}
	if err := s.cfg.Store.PutPending(r.Context(), state, p); err != nil {
		s.log.Error("storing a pending sign-in failed", "error", err)
		page(w, http.StatusInternalServerError, "Sign-in failed", "The server could not store the sign-in; try again.")
		return
	}
	up := s.cfg.Sentry
	up.Scopes = a.scopes
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, up.AuthCodeURL(s.issuer+"/oauth/callback", state, verifier), http.StatusSeeOther)
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Allow {{.Client}} to use Sentry?</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .2em}li{margin:.3em 0}button{font-size:1rem;padding:.5em 1.2em;margin-right:.6em}
.note{color:#555;font-size:.9rem}</style></head>
<body>
<h1>Allow <em>{{.Client}}</em> to use Sentry as you?</h1>
<p>After you approve here, Sentry asks you to sign in and confirm. The client will then act in Sentry with your account{{if .Org}}, limited to the organization <code>{{.Org}}</code>{{end}}.</p>
<p>It will receive its answers at <strong>{{.RedirectHost}}</strong>. Approve only if you started this from that client.</p>
<p>It asks for these Sentry permissions:</p>
<ul>{{range .Scopes}}<li><code>{{.Name}}</code>: {{.Meaning}}</li>{{end}}</ul>
{{if .Dropped}}<p class="note">Not offered on this server, so not granted: {{range $i, $s := .Dropped}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}.</p>{{end}}
<form method="post" action="/oauth/authorize">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class="note">Client id: <code>{{.ClientID}}</code></p>
</body></html>
`))

type field struct{ Name, Value string }

func (s *Server) consentPage(w http.ResponseWriter, a *authRequest, csrf string) {
	type scope struct{ Name, Meaning string }
	var scopes []scope
	for _, sc := range a.scopes {
		scopes = append(scopes, scope{sc, auth.ScopeMeaning(sc)})
	}
	host := a.redirectURI
	if u, err := url.Parse(a.redirectURI); err == nil {
		host = u.Scheme + "://" + u.Host
		if u.Host == "" {
			host = u.Scheme + ":" // a native app's private-use scheme
		}
	}
	data := map[string]any{
		"Client":       a.client.name,
		"ClientID":     render.Line(a.client.id, 200),
		"Org":          a.org,
		"RedirectHost": render.Line(host, 200),
		"Scopes":       scopes,
		"Dropped":      a.dropped,
		"Hidden": []field{
			{"client_id", a.client.id}, {"redirect_uri", a.redirectURI}, {"response_type", "code"},
			{"state", a.state}, {"code_challenge", a.challenge}, {"code_challenge_method", "S256"},
			{"resource", a.resource}, {"scope", strings.Join(a.scopes, " ")}, {"csrf_token", csrf},
		},
	}
	if a.client.name == "" {
		data["Client"] = "an unnamed MCP client"
	}
	securePage(w)
	w.WriteHeader(http.StatusOK)
	if err := consentTemplate.Execute(w, data); err != nil {
		s.log.Error("rendering the consent page failed", "error", err)
	}
}

// securePage sets the headers of every HTML page: not cached, not
// frameable, no scripts, no base. There is no form-action: the form's
// answer redirects to Sentry, which may send the browser on through an
// identity provider before it comes back and goes on to the client, and
// Chrome and Safari check form-action along every one of those redirects.
func securePage(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>
`))

// page answers with a short HTML page (errors in the browser flow).
func page(w http.ResponseWriter, status int, title, msg string) {
	securePage(w)
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, map[string]string{"Title": title, "Message": msg})
}
